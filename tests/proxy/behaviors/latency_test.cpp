// `latency`: every chunk held `latency` ms ± `jitter` ms; request delays on http/redis.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;
using std::chrono::milliseconds;

TEST(Latency, DelaysEveryPieceOfAChunkByTheLatency) {
  auto stage = make_stage("latency", {{"latency", 100}});
  ASSERT_TRUE(stage);
  std::vector<Piece> pieces{{kT0, "ab"}, {kT0 + milliseconds(5), "cd"}};
  StreamEffects fx;
  stage->on_data(pieces, kT0, fx);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0].due, kT0 + milliseconds(100));
  EXPECT_EQ(pieces[1].due, kT0 + milliseconds(105));
  EXPECT_EQ(joined(pieces), "abcd");
  EXPECT_EQ(fx.added_delay, milliseconds(100));
  EXPECT_FALSE(fx.close_at);
  EXPECT_FALSE(fx.reset_at);
  EXPECT_EQ(stage->on_eof(), Clock::duration::zero());
  EXPECT_FALSE(stage->deadline());
}

TEST(Latency, JitterStaysWithinBoundsAndSpreads) {
  auto stage = make_stage("latency", {{"latency", 100}, {"jitter", 10}});
  ASSERT_TRUE(stage);
  Clock::duration lo = Clock::duration::max(), hi = Clock::duration::min();
  for (int i = 0; i < 1000; ++i) {
    auto pieces = chunk("x");
    StreamEffects fx;
    stage->on_data(pieces, kT0, fx);
    const auto d = pieces[0].due - kT0;
    EXPECT_EQ(fx.added_delay, d);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_GE(lo, milliseconds(90));
  EXPECT_LE(hi, milliseconds(110));
  EXPECT_LT(lo, milliseconds(92));  // 1000 uniform draws over ±10 ms reach both ends
  EXPECT_GT(hi, milliseconds(108));
}

TEST(Latency, JitterLargerThanLatencyNeverGoesBackInTime) {
  auto stage = make_stage("latency", {{"latency", 1}, {"jitter", 50}});
  ASSERT_TRUE(stage);
  for (int i = 0; i < 200; ++i) {
    auto pieces = chunk("x");
    StreamEffects fx;
    stage->on_data(pieces, kT0, fx);
    EXPECT_GE(pieces[0].due, kT0);
    EXPECT_LE(pieces[0].due, kT0 + milliseconds(51));
  }
}

TEST(Latency, SameSeedSameDelays) {
  auto a = make_stage("latency", {{"latency", 100}, {"jitter", 50}}, 99);
  auto b = make_stage("latency", {{"latency", 100}, {"jitter", 50}}, 99);
  ASSERT_TRUE(a && b);
  for (int i = 0; i < 20; ++i) {
    auto pa = chunk("x");
    auto pb = chunk("x");
    StreamEffects fa, fb;
    a->on_data(pa, kT0, fa);
    b->on_data(pb, kT0, fb);
    EXPECT_EQ(pa[0].due, pb[0].due);
  }
}

TEST(Latency, RequestFaultDelaysTheRequestOrTheResponse) {
  auto config = parse_behavior("latency", {{"latency", 30}}, Protocol::http);
  ASSERT_TRUE(config);
  Rng rng(1);
  const RequestFault up = config->request_fault(rng, Stream::upstream);
  EXPECT_EQ(up.kind, RequestFault::Kind::delay);
  EXPECT_EQ(up.delay, milliseconds(30));
  EXPECT_FALSE(up.after_response);
  const RequestFault down = config->request_fault(rng, Stream::downstream);
  EXPECT_EQ(down.delay, milliseconds(30));
  EXPECT_TRUE(down.after_response);
}
