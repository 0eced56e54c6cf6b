// The reconnects assertion (WebSocket and SSE sessions, issue #24) on synthetic measurements.
#include <gtest/gtest.h>

#include "runner/assertions/assertion.hpp"

using namespace faultline;
using namespace faultline::runner;

namespace {

std::unique_ptr<Assertion> make(const std::string& text) {
  ConfigErrors e;
  auto a = parse_assertion(json::parse(text), "$.assertions[0]", builtin_assertions(), e);
  EXPECT_TRUE(e.empty()) << e.to_string();
  return a;
}

}  // namespace

// reconnects: sessions that came back after ending early (issue #24, WebSocket/SSE load).
TEST(Assertions, ReconnectsCountsSessionsThatCameBack) {
  RunMeasurements m;
  for (const char* name : {"baseline", "fault"}) {
    PhaseStats p;
    p.name = name;
    p.load.present = true;
    m.phases.push_back(p);
  }
  SessionStats chat;
  chat.opened = 60;
  chat.completed = 35;
  chat.ended_early = 25;
  chat.reconnects = 24;
  chat.close_codes["1012"] = 25;
  m.phases[1].load.sessions["chat"] = chat;
  SessionStats events;
  events.opened = 10;
  events.completed = 10;
  m.phases[1].load.sessions["events"] = events;
  m.phases[0].load.sessions["chat"] = events;
  for (const auto& p : m.phases)
    m.by_name[p.name] = p;
  auto cut = make(R"({"name":"r","kind":"reconnects","phase":"fault","request":"chat","min":20})");
  ASSERT_NE(cut, nullptr);
  EXPECT_EQ(cut->referenced_requests(), std::vector<std::string>{"chat"});
  auto r = cut->evaluate(m);
  EXPECT_TRUE(r.pass) << r.message;
  EXPECT_DOUBLE_EQ(*r.measured, 24);
  EXPECT_EQ(r.bound, ">= 20");
  EXPECT_EQ(r.message,
            "sessions of chat reconnected 24 times (60 opened, 35 completed, 25 ended early, 24 "
            "reconnects; close codes 25 × 1012) within >= 20");
  // The early ends where they happened (a reconnect lands where the next session opens).
  auto ended = make(R"({"name":"r","kind":"reconnects","phase":"fault","request":"chat",
                        "count":"ended_early","max":0})");
  r = ended->evaluate(m);
  EXPECT_FALSE(r.pass);
  EXPECT_DOUBLE_EQ(*r.measured, 25);
  EXPECT_NE(r.message.find("sessions of chat ended early 25 times"), std::string::npos)
      << r.message;
  EXPECT_TRUE(make(R"({"name":"r","kind":"reconnects","phase":"fault","request":"events",
                       "count":"ended_early","max":0})")
                  ->evaluate(m)
                  .pass);
  // Every session entry together; a max the fault phase breaks.
  auto calm = make(R"({"name":"r","kind":"reconnects","phase":"fault","max":0})");
  r = calm->evaluate(m);
  EXPECT_FALSE(r.pass);
  EXPECT_NE(r.message.find("sessions reconnected 24 times (70 opened"), std::string::npos)
      << r.message;
  EXPECT_NE(r.message.find("> max 0"), std::string::npos) << r.message;
  auto base = make(R"({"name":"r","kind":"reconnects","phase":"baseline","max":0})");
  EXPECT_TRUE(base->evaluate(m).pass);
  // Too few: a fault that never cut a session fails the min.
  auto many = make(R"({"name":"r","kind":"reconnects","phase":"fault","request":"chat","min":30})");
  r = many->evaluate(m);
  EXPECT_FALSE(r.pass);
  EXPECT_NE(r.message.find("< min 30"), std::string::npos) << r.message;
  // No session opened is never a pass.
  auto none = make(R"({"name":"r","kind":"reconnects","phase":"baseline","request":"x","max":5})");
  r = none->evaluate(m);
  EXPECT_FALSE(r.pass);
  EXPECT_FALSE(r.measured.has_value());
  EXPECT_NE(r.message.find("no sessions of x opened in phase baseline"), std::string::npos)
      << r.message;
  // Bad input, each with its path.
  for (const auto& [text, where] : std::vector<std::pair<std::string, std::string>>{
           {R"({"name":"r","kind":"reconnects","phase":"fault"})",
            "$.assertions[0]: reconnects needs"},
           {R"({"name":"r","kind":"reconnects","phase":"fault","min":5,"max":2})",
            "$.assertions[0].min: min 5 is above max 2"},
           {R"({"name":"r","kind":"reconnects","phase":"fault","min":-1})", "$.assertions[0].min"},
           {R"({"name":"r","kind":"reconnects","phase":"fault","max":1,"count":"opened"})",
            "$.assertions[0].count: \"opened\" is not a count (reconnects, ended_early)"},
           {R"({"name":"r","kind":"reconnects","phase":"fault","max":1,"name2":1})",
            "$.assertions[0].name2"}}) {
    ConfigErrors e;
    EXPECT_FALSE(parse_assertion(json::parse(text), "$.assertions[0]", builtin_assertions(), e))
        << text;
    EXPECT_NE(e.to_string().find(where), std::string::npos) << e.to_string();
  }
}
