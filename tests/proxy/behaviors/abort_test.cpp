// `abort`: the first chunk is delivered, then both sides closed; http/redis: forward, no answer.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;
using std::chrono::milliseconds;

TEST(Abort, DeliversTheFirstChunkThenClosesAfterIt) {
  auto stage = make_stage("abort", json::object());
  ASSERT_TRUE(stage);
  std::vector<Piece> first{{kT0, "ab"}, {kT0 + milliseconds(2), "cd"}};
  StreamEffects fx;
  stage->on_data(first, kT0, fx);
  EXPECT_EQ(joined(first), "abcd");
  ASSERT_TRUE(fx.close_at);
  EXPECT_EQ(*fx.close_at, kT0 + milliseconds(2));
  auto second = chunk("ef", kT0 + milliseconds(5));
  StreamEffects fx2;
  stage->on_data(second, kT0 + milliseconds(5), fx2);
  EXPECT_TRUE(second.empty());
  EXPECT_FALSE(fx2.close_at);
}

TEST(Abort, RequestFaultForwardsThenCuts) {
  auto config = parse_behavior("abort", json::object(), Protocol::http);
  ASSERT_TRUE(config);
  Rng rng(1);
  EXPECT_EQ(config->request_fault(rng, Stream::upstream).kind, RequestFault::Kind::abort_upstream);
}
