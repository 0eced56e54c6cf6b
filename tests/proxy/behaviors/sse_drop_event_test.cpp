// `sse_drop_event`: each whole event dropped with its own draw (p = 0.2 over 10,000 events lands
// in the binomial 99.9 % interval), the rest kept in order and unchanged; pieces that are not
// events pass; through a BodyPipeline, only a text/event-stream body is touched, events split
// across reads are whole, and each dropped event is counted once.
#include <gtest/gtest.h>

#include <prometheus/counter.h>

#include "proxy/body_pipeline.hpp"
#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;
using std::chrono::milliseconds;

TEST(SseDropEvent, DrawsEachEventAtTheToxicityAndKeepsTheOrder) {
  auto stage = make_event_stage("sse_drop_event", json::object(), 0.2);
  ASSERT_TRUE(stage);
  auto pieces = events(10'000);
  StreamEffects fx;
  const std::uint64_t dropped = stage->on_events(pieces, kT0, fx);
  // Binomial(10,000, 0.2): mean 2,000, sd 40; the two-sided 99.9 % interval is ± 3.29 sd.
  EXPECT_GE(dropped, 1868u);
  EXPECT_LE(dropped, 2132u);
  EXPECT_EQ(pieces.size(), 10'000u - dropped);
  int last = -1;
  for (const auto& p : pieces) {
    const int i = std::stoi(p.bytes.substr(6));
    EXPECT_GT(i, last);
    EXPECT_EQ(p.bytes, "data: " + std::to_string(i) + "\n\n");
    EXPECT_EQ(p.due, kT0);
    last = i;
  }
}

TEST(SseDropEvent, NonEventPiecesPassAndZeroOrOneAreExact) {
  auto all = make_event_stage("sse_drop_event", json::object(), 1.0);
  ASSERT_TRUE(all);
  std::vector<EventPiece> pieces{
      {kT0, "\n", false}, {kT0, "data: a\n\n", true}, {kT0, "data: b", false}};
  StreamEffects fx;
  EXPECT_EQ(all->on_events(pieces, kT0, fx), 1u);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0].bytes, "\n");
  EXPECT_EQ(pieces[1].bytes, "data: b");
  auto none = make_event_stage("sse_drop_event", json::object(), 0.0);
  auto more = events(100);
  EXPECT_EQ(none->on_events(more, kT0, fx), 0u);
  EXPECT_EQ(more.size(), 100u);
}

TEST(SseDropEvent, ThroughThePipelineOnlyAnEventStreamAndWholeEvents) {
  auto config = parse_behavior("sse_drop_event", {{"path_prefix", "/events"}}, Protocol::http);
  ASSERT_TRUE(config);
  Rng pick(1);
  RequestFault f = config->request_fault(pick, Stream::downstream);
  f.event_probability = Probability(1.0);
  prometheus::Counter counter, oversized;
  f.counter = &counter;
  const std::vector<const RequestFault*> faults{&f};
  std::string body;
  for (int i = 0; i < 50; ++i)
    body += (i % 5 == 0 ? ": keep-alive\n\n" : "") + std::string("data: ") + std::to_string(i) +
            "\r\n\r\n";
  body += "data: tail";
  {
    // Not an event stream: every byte passes.
    Rng rng(3);
    BodyPipeline pipeline(faults, rng, kT0, false, &oversized);
    EXPECT_TRUE(pipeline.empty());
  }
  Rng rng(3);
  BodyPipeline pipeline(faults, rng, kT0, true, &oversized);
  ASSERT_FALSE(pipeline.empty());
  std::string out;
  for (std::size_t off = 0; off < body.size(); off += 7) {
    StreamEffects fx;
    const bool end = off + 7 >= body.size();
    for (const auto& p : pipeline.on_chunk(std::string_view(body).substr(off, 7), kT0, fx, end))
      out += p.bytes;
  }
  // p = 1: every event (comments included) is dropped whole; the unterminated tail passes.
  EXPECT_EQ(out, "data: tail");
  EXPECT_EQ(counter.Value(), 60.0);
  EXPECT_EQ(oversized.Value(), 0.0);
}

TEST(SseDropEvent, RefusesStreamUpstreamAndUnknownAttributes) {
  ConfigErrors errors;
  EXPECT_FALSE(parse_toxic(json{{"type", "sse_drop_event"}, {"stream", "upstream"}}, "$",
                           Protocol::http, builtin_registry(), errors));
  EXPECT_NE(errors.to_string().find("$.stream: sse_drop_event acts on responses"),
            std::string::npos)
      << errors.to_string();
  ConfigErrors more;
  EXPECT_FALSE(parse_toxic(json{{"type", "sse_drop_event"}, {"attributes", {{"delay", 1}}}}, "$",
                           Protocol::http, builtin_registry(), more));
  EXPECT_NE(more.to_string().find("$.attributes.delay: unknown field"), std::string::npos)
      << more.to_string();
  ConfigErrors tcp;
  EXPECT_FALSE(
      parse_toxic(json{{"type", "sse_drop_event"}}, "$", Protocol::tcp, builtin_registry(), tcp));
}
