// `faultline load` server-sent-event sessions end to end over loopback: the target's GET /events
// (chunked, one event per interval) for the time to the first event and the gaps, and
// tests/loadgen/ws_peer.py's /sse/N (N events, then the end of the body; it prints the
// Last-Event-ID it got) for streams that end early, reconnects and Last-Event-ID.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "loadgen/workload.hpp"
#include "tests/loadgen/load_support.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::test;
using namespace faultline::test::load;
using namespace std::chrono_literals;

namespace {

std::uint64_t u(const json& j) {
  return j.get<std::uint64_t>();
}

}  // namespace

TEST(LoadSse, SseFirstEventAndGaps) {
  auto target = start_faultline(
      {"target", "--listen", "127.0.0.1:0", "--threads", "1", "--solver-threads", "1"});
  ASSERT_TRUE(target);
  TempDir dir;
  const std::string url = "http://" + target->address.to_string() + "/events?interval=50ms";
  auto [code, out] =
      run_faultline({"load", url, "--sse", "--sse-events", "5", "--users", "2", "--duration", "2s",
                     "-q", "--out", dir.file("r.json"), "--intervals-out", dir.file("i.jsonl")});
  ASSERT_EQ(code, 0);
  const json r = read_json(dir.file("r.json"));
  const json& s = r["sessions"]["default"];
  // 2 users × ~2 s of ~0.2 s sessions (5 events 50 ms apart, the first at once).
  EXPECT_GE(u(s["opened"]), 8u);
  EXPECT_EQ(s["completed"], s["opened"]);
  EXPECT_EQ(s["ended_early"], 0);
  EXPECT_EQ(s["reconnects"], 0);
  const json& by = r["requests_by_name"];
  EXPECT_EQ(by["default.first_event"]["requests"]["ok"], s["opened"]);
  EXPECT_EQ(by["default.event"]["requests"]["failed"], 0);
  // 4 gaps a session; each user's last session may be cut by the end of the run.
  EXPECT_GE(u(by["default.event"]["requests"]["ok"]), 4 * (u(s["opened"]) - 2));
  EXPECT_LE(u(by["default.event"]["requests"]["ok"]), 4 * u(s["opened"]));
  const double gap = by["default.event"]["latency_seconds"]["p50"].get<double>();
  EXPECT_GT(gap, 0.035);
  EXPECT_LT(gap, 0.2);
  EXPECT_LT(by["default.first_event"]["latency_seconds"]["p50"].get<double>(), 0.05);
  std::uint64_t opened = 0;
  for (const json& line : read_lines(dir.file("i.jsonl")))
    opened += u(line["sessions"]["default"]["opened"]);
  EXPECT_EQ(opened, u(s["opened"]));
}

TEST(LoadSse, SseTruncationReconnectsWithLastEventId) {
  Subprocess peer({"/usr/bin/python3", source_dir() + "/tests/loadgen/ws_peer.py"});
  auto line = peer.wait_for_line("listening on ", 15000ms);
  ASSERT_TRUE(line) << peer.output();
  std::string at = line->substr(line->find("listening on ") + 13);
  while (!at.empty() && (at.back() == '\n' || at.back() == '\r'))
    at.pop_back();
  TempDir dir;
  // Each stream has 3 events, then ends: short of the plan's 5, so every session ends early, the
  // awaited 4th event is `reset`, and the next session is a reconnect that resumes after the
  // last id seen.
  write_file(dir.file("w.json"), R"({"mix": [{"name": "feed", "sse": {"url": "/sse/3",
      "events": 5}}]})");
  auto [code, out] =
      run_faultline({"load", "http://" + at, "--workload", dir.file("w.json"), "--users", "1",
                     "--duration", "1s", "-q", "--out", dir.file("r.json")});
  ASSERT_EQ(code, 0);
  const json r = read_json(dir.file("r.json"));
  const json& s = r["sessions"]["feed"];
  EXPECT_GE(u(s["opened"]), 3u);
  EXPECT_EQ(s["ended_early"], s["opened"]);
  EXPECT_EQ(u(s["reconnects"]), u(s["opened"]) - 1);
  const json& ev = r["requests_by_name"]["feed.event"];
  EXPECT_EQ(ev["errors"]["reset"], s["ended_early"]);
  EXPECT_EQ(u(ev["requests"]["ok"]), 2 * u(s["opened"]));
  // The first request had no Last-Event-ID; the next ones resumed after 3, then 6.
  EXPECT_TRUE(peer.wait_for_line("last-event-id: 6", 5000ms)) << peer.output();
  const std::string said = peer.output();
  EXPECT_LT(said.find("last-event-id: -"), said.find("last-event-id: 3"));
  EXPECT_LT(said.find("last-event-id: 3"), said.find("last-event-id: 6"));
}

TEST(LoadSse, WorkloadEntriesParse) {
  ConfigErrors errors;
  const auto w = loadgen::parse_workload(
      json::parse(R"({"mix": [{"name": "events", "sse": {"url": "/events?interval=1s",
        "events": 50}}, {"name": "chat", "websocket": {"url": "/ws"}}]})"),
      errors);
  ASSERT_TRUE(errors.empty()) << errors.to_string();
  EXPECT_EQ(w.session_names, (std::vector<std::string>{"events", "chat"}));
  ASSERT_TRUE(w.entries[0].sse);
  EXPECT_EQ(w.entries[0].sse->events, 50u);
  EXPECT_EQ(w.request_names[w.entries[0].sse->first_event_name], "events.first_event");
  EXPECT_EQ(w.request_names[w.entries[0].sse->event_name], "events.event");
  EXPECT_EQ(w.entries[1].session, 1u);
}
