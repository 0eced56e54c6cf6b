// `reset_peer`: the first chunk arms a TCP RST `timeout` ms later; all data is dropped.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;
using std::chrono::milliseconds;

TEST(ResetPeer, FirstChunkArmsTheResetOnce) {
  auto stage = make_stage("reset_peer", {{"timeout", 50}});
  ASSERT_TRUE(stage);
  EXPECT_FALSE(stage->deadline());
  auto first = chunk("abc", kT0 + milliseconds(20));
  StreamEffects fx;
  stage->on_data(first, kT0 + milliseconds(20), fx);
  EXPECT_TRUE(first.empty());
  ASSERT_TRUE(fx.reset_at);
  EXPECT_EQ(*fx.reset_at, kT0 + milliseconds(70));
  EXPECT_FALSE(fx.close_at);
  auto second = chunk("def", kT0 + milliseconds(30));
  StreamEffects fx2;
  stage->on_data(second, kT0 + milliseconds(30), fx2);
  EXPECT_TRUE(second.empty());
  EXPECT_FALSE(fx2.reset_at);
}

TEST(ResetPeer, TimeoutZeroResetsAtOnce) {
  auto stage = make_stage("reset_peer", json::object());
  ASSERT_TRUE(stage);
  auto pieces = chunk("abc");
  StreamEffects fx;
  stage->on_data(pieces, kT0, fx);
  ASSERT_TRUE(fx.reset_at);
  EXPECT_EQ(*fx.reset_at, kT0);
}
