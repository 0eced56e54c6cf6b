// `timeout`: the direction's data dropped; the connection closed `timeout` ms after the stage
// began.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;
using std::chrono::milliseconds;

TEST(Timeout, DropsDataAndClosesAtTheDeadline) {
  auto stage = make_stage("timeout", {{"timeout", 300}}, 7, kT0);
  ASSERT_TRUE(stage);
  ASSERT_TRUE(stage->deadline());
  EXPECT_EQ(*stage->deadline(), kT0 + milliseconds(300));
  auto pieces = chunk("hello", kT0 + milliseconds(10));
  StreamEffects fx;
  stage->on_data(pieces, kT0 + milliseconds(10), fx);
  EXPECT_TRUE(pieces.empty());
  EXPECT_FALSE(fx.close_at);
  // The deadline counts from the stage's creation, not from traffic.
  EXPECT_EQ(*stage->deadline(), kT0 + milliseconds(300));
}

TEST(Timeout, ZeroIsABlackHoleWithoutDeadline) {
  auto stage = make_stage("timeout", {{"timeout", 0}});
  ASSERT_TRUE(stage);
  EXPECT_FALSE(stage->deadline());
  auto pieces = chunk("hello");
  StreamEffects fx;
  stage->on_data(pieces, kT0, fx);
  EXPECT_TRUE(pieces.empty());
  EXPECT_FALSE(fx.close_at);
  EXPECT_FALSE(fx.reset_at);
}
