// `sse_delay_event`: a drawn event is due `delay` ± `jitter` after it arrived; the events behind a
// held one wait for it (order kept), those arriving after it is out are not delayed; each drawn
// event is counted; p = 0.2 over 10,000 events lands in the binomial 99.9 % interval.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;
using std::chrono::milliseconds;

TEST(SseDelayEvent, HoldsEachEventAndKeepsTheOrder) {
  auto stage = make_event_stage("sse_delay_event", {{"delay", 300}});
  ASSERT_TRUE(stage);
  StreamEffects fx;
  auto first = events(2, kT0);
  EXPECT_EQ(stage->on_events(first, kT0, fx), 2u);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].due, kT0 + milliseconds(300));
  EXPECT_EQ(first[1].due, kT0 + milliseconds(300));
  // Later events: each 300 ms after its own arrival (not after the one before: no pile-up).
  auto later = events(1, kT0 + milliseconds(1000), 2);
  stage->on_events(later, kT0 + milliseconds(1000), fx);
  EXPECT_EQ(later[0].due, kT0 + milliseconds(1300));
  EXPECT_EQ(fx.added_delay, milliseconds(900));
}

TEST(SseDelayEvent, UndrawnEventsWaitBehindAHeldOne) {
  auto stage = make_event_stage("sse_delay_event", {{"delay", 500}}, 0.5, 11);
  ASSERT_TRUE(stage);
  auto pieces = events(200, kT0);
  for (int i = 0; i < 200; ++i)
    pieces[static_cast<std::size_t>(i)].due = kT0 + milliseconds(10 * i);
  pieces.insert(pieces.begin() + 3, EventPiece{kT0 + milliseconds(25), "\n", false});
  StreamEffects fx;
  const std::uint64_t held = stage->on_events(pieces, kT0, fx);
  EXPECT_GT(held, 50u);
  EXPECT_LT(held, 150u);
  ASSERT_EQ(pieces.size(), 201u);
  for (std::size_t i = 1; i < pieces.size(); ++i)
    EXPECT_GE(pieces[i].due, pieces[i - 1].due) << i;
  EXPECT_EQ(fx.added_delay, milliseconds(500) * static_cast<long>(held));
}

TEST(SseDelayEvent, JitterStaysWithinItsRangeAndDrawsPerEventAtTheToxicity) {
  auto stage = make_event_stage("sse_delay_event", {{"delay", 100}, {"jitter", 50}}, 0.2, 5);
  ASSERT_TRUE(stage);
  std::uint64_t held = 0;
  Clock::time_point at = kT0;
  for (int i = 0; i < 10'000; ++i) {
    // One event per second: a held one is out long before the next arrives.
    at += milliseconds(1000);
    auto one = events(1, at, i);
    StreamEffects fx;
    held += stage->on_events(one, at, fx);
    const auto d = one[0].due - at;
    if (d > Clock::duration::zero()) {
      EXPECT_GE(d, milliseconds(50));
      EXPECT_LE(d, milliseconds(150));
    }
  }
  EXPECT_GE(held, 1868u);
  EXPECT_LE(held, 2132u);
}

TEST(SseDelayEvent, DelayIsRequiredAndBounded) {
  ConfigErrors errors;
  EXPECT_FALSE(parse_toxic(json{{"type", "sse_delay_event"}, {"attributes", json::object()}}, "$",
                           Protocol::http, builtin_registry(), errors));
  EXPECT_NE(errors.to_string().find("$.attributes.delay: required field is missing"),
            std::string::npos)
      << errors.to_string();
  ConfigErrors big;
  EXPECT_FALSE(parse_toxic(
      json{{"type", "sse_delay_event"}, {"attributes", {{"delay", 10}, {"jitter", -1}}}}, "$",
      Protocol::http, builtin_registry(), big));
  EXPECT_NE(big.to_string().find("$.attributes.jitter"), std::string::npos) << big.to_string();
  auto config = parse_behavior("sse_delay_event", {{"delay", 10}}, Protocol::http);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->attributes(), (json{{"delay", 10}, {"jitter", 0}}));
}
