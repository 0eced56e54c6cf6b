// `hang`: tcp data swallowed with the connection left open; http/redis requests never answered.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;

TEST(Hang, SwallowsDataWithoutClosing) {
  auto stage = make_stage("hang", json::object());
  ASSERT_TRUE(stage);
  auto pieces = chunk("abc");
  StreamEffects fx;
  stage->on_data(pieces, kT0, fx);
  EXPECT_TRUE(pieces.empty());
  EXPECT_FALSE(fx.close_at);
  EXPECT_FALSE(fx.reset_at);
  EXPECT_FALSE(stage->deadline());
  EXPECT_EQ(stage->on_eof(), Clock::duration::zero());
}

TEST(Hang, RequestFaultIsHang) {
  auto config = parse_behavior("hang", json::object(), Protocol::http);
  ASSERT_TRUE(config);
  Rng rng(1);
  EXPECT_EQ(config->request_fault(rng, Stream::upstream).kind, RequestFault::Kind::hang);
}
