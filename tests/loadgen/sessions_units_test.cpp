// Pure parts of the load generator's WebSocket and SSE sessions (issue #24): session counts,
// their metrics (bounded close-code labels), results merging and the session thresholds.
#include <gtest/gtest.h>

#include "loadgen/detail/load_metrics.hpp"
#include "loadgen/merge.hpp"
#include "loadgen/stats.hpp"
#include "loadgen/threshold.hpp"

using namespace faultline;
using namespace faultline::loadgen;
using namespace std::chrono_literals;

TEST(Sessions, CountsRoundTripAndAdd) {
  SessionCounts a;
  a.opened = 5;
  a.completed = 3;
  a.ended_early = 2;
  a.reconnects = 1;
  a.close_codes[1012] = 2;
  const json j = a.to_json();
  EXPECT_EQ(j, json::parse(R"J({"opened": 5, "completed": 3, "ended_early": 2,
      "reconnects": 1, "close_codes": {"1012": 2}})J"));
  SessionCounts b = SessionCounts::from_json(j);
  b.close_codes[1000] = 1;
  b += a;
  EXPECT_EQ(b.opened, 10u);
  EXPECT_EQ(b.close_codes[1012], 4u);
  EXPECT_EQ(b.close_codes[1000], 1u);
  // Lenient: missing counters are 0, bad codes are skipped.
  const auto c = SessionCounts::from_json(json::parse(R"({"opened": 1, "close_codes":
      {"x": 1, "70000": 2, "1001": 3}})"));
  EXPECT_EQ(c.opened, 1u);
  EXPECT_EQ(c.reconnects, 0u);
  EXPECT_EQ(c.close_codes.size(), 1u);
  EXPECT_TRUE(SessionCounts{}.empty());
  EXPECT_EQ(sessions_to_json({"chat", "events"}, {a})["events"]["opened"], 0);
  // The new error kind, last in the taxonomy.
  EXPECT_STREQ(error_kind_name(static_cast<std::size_t>(Outcome::closed) - 1), "closed");
  EXPECT_EQ(error_kind_from_name("closed"), kErrorKinds - 1);
  Stats s;
  s.record(Outcome::closed, 1ms, 1ms);
  EXPECT_EQ(s.to_json(1, false)["errors"]["closed"], 1);
  EXPECT_EQ(s.to_json(1, false)["latency_seconds"]["max"], 0.0);  // no response, no latency
}

TEST(Sessions, MetricsCountEventsAndBoundCloseCodes) {
  using faultline::loadgen::detail::LoadMetrics;
  using faultline::loadgen::detail::ws_close_code_label;
  EXPECT_EQ(ws_close_code_label(1000), "1000");
  EXPECT_EQ(ws_close_code_label(1012), "1012");
  EXPECT_EQ(ws_close_code_label(1015), "1015");
  EXPECT_EQ(ws_close_code_label(1016), "other");
  EXPECT_EQ(ws_close_code_label(3001), "3xxx");
  EXPECT_EQ(ws_close_code_label(4999), "4xxx");
  EXPECT_EQ(ws_close_code_label(0), "other");
  LoadMetrics m;
  m.declare_sessions({"chat"});
  SessionCounts c;
  c.opened = 3;
  c.reconnects = 1;
  c.close_codes[4001] = 2;
  c.close_codes[4002] = 1;
  m.observe_sessions({c});
  const std::string text = m.metrics.serialize();
  for (const char* line : {"faultline_load_sessions_total{event=\"opened\",name=\"chat\"} 3",
                           "faultline_load_sessions_total{event=\"reconnects\",name=\"chat\"} 1",
                           "faultline_load_sessions_total{event=\"ended_early\",name=\"chat\"} 0",
                           "faultline_load_ws_close_codes_total{code=\"4xxx\"} 3"})
    EXPECT_NE(text.find(line), std::string::npos) << line << " in\n" << text;
}

TEST(Merge, MergeAddsSessions) {
  Stats a;
  a.record(Outcome::ok, 1ms, 1ms);
  auto doc = [&](std::uint64_t reconnects, std::uint16_t code) {
    json j = a.to_json(1, true);
    j["duration_seconds"] = 1.0;
    j["model"] = "closed";
    SessionCounts c;
    c.opened = 4;
    c.completed = 3;
    c.ended_early = 1;
    c.reconnects = reconnects;
    c.close_codes[code] = 1;
    j["sessions"] = sessions_to_json({"chat"}, {c});
    return j;
  };
  json m = merge_results({doc(1, 1012), doc(2, 1001)}, {"a.json", "b.json"});
  const json& c = m["sessions"]["chat"];
  EXPECT_EQ(c["opened"], 8);
  EXPECT_EQ(c["ended_early"], 2);
  EXPECT_EQ(c["reconnects"], 3);
  EXPECT_EQ(c["close_codes"]["1012"], 1);
  EXPECT_EQ(c["close_codes"]["1001"], 1);
  // Files without sessions merge without a "sessions" object.
  json plain = a.to_json(1, true);
  plain["duration_seconds"] = 1.0;
  plain["model"] = "closed";
  EXPECT_FALSE(merge_results({plain, plain}, {"a", "b"}).contains("sessions"));
}

TEST(Threshold, ReconnectsAndEndedEarlyRatio) {
  std::string error;
  auto t = parse_threshold("reconnects<5", error);
  ASSERT_TRUE(t) << error;
  EXPECT_TRUE(t->session);
  auto named = parse_threshold("chat:ended_early_ratio<=0.1", error);
  ASSERT_TRUE(named) << error;
  EXPECT_EQ(named->scope, "chat");
  ASSERT_TRUE(parse_threshold("errors.closed<1", error)) << error;
  json r = json::parse(R"({"sessions": {
      "chat": {"opened": 10, "completed": 8, "ended_early": 2, "reconnects": 2, "close_codes": {}},
      "events": {"opened": 10, "completed": 10, "ended_early": 0, "reconnects": 4,
                 "close_codes": {}}}})");
  EXPECT_EQ(threshold_value(*t, r), 6.0);
  EXPECT_FALSE(threshold_holds(*t, 6.0));
  EXPECT_DOUBLE_EQ(*threshold_value(*named, r), 0.2);
  EXPECT_DOUBLE_EQ(*threshold_value(*parse_threshold("ended_early_ratio<1", error), r), 0.1);
  EXPECT_FALSE(threshold_value(*parse_threshold("nope:reconnects<1", error), r));
  EXPECT_FALSE(threshold_value(*t, json::object()));  // no sessions: no value
}
