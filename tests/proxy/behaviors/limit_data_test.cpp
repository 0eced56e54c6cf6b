// `limit_data`: the direction is cut after `bytes` bytes and the connection closed.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;
using std::chrono::milliseconds;

TEST(LimitData, PassesBytesBelowTheLimit) {
  auto stage = make_stage("limit_data", {{"bytes", 10}});
  ASSERT_TRUE(stage);
  auto pieces = chunk("abcd");
  StreamEffects fx;
  stage->on_data(pieces, kT0, fx);
  EXPECT_EQ(joined(pieces), "abcd");
  EXPECT_FALSE(fx.close_at);
}

TEST(LimitData, TruncatesAtTheLimitAndClosesAfterTheLastPiece) {
  auto stage = make_stage("limit_data", {{"bytes", 10}});
  ASSERT_TRUE(stage);
  auto first = chunk("abcdef");
  StreamEffects fx;
  stage->on_data(first, kT0, fx);
  EXPECT_FALSE(fx.close_at);
  std::vector<Piece> second{{kT0 + milliseconds(5), "ghi"}, {kT0 + milliseconds(7), "jklmn"}};
  stage->on_data(second, kT0 + milliseconds(5), fx);
  EXPECT_EQ(joined(second), "ghij");
  ASSERT_TRUE(fx.close_at);
  EXPECT_EQ(*fx.close_at, kT0 + milliseconds(7));  // after the truncated piece is written
}

TEST(LimitData, DropsEverythingAfterTheLimitAndClosesOnce) {
  auto stage = make_stage("limit_data", {{"bytes", 3}});
  ASSERT_TRUE(stage);
  auto first = chunk("abc");
  StreamEffects fx;
  stage->on_data(first, kT0, fx);
  EXPECT_EQ(joined(first), "abc");
  ASSERT_TRUE(fx.close_at);
  EXPECT_EQ(*fx.close_at, kT0);
  auto later = chunk("def", kT0 + milliseconds(1));
  StreamEffects fx2;
  stage->on_data(later, kT0 + milliseconds(1), fx2);
  EXPECT_TRUE(later.empty());
  EXPECT_FALSE(fx2.close_at);
}

TEST(LimitData, ZeroBytesClosesOnTheFirstChunkAtOnce) {
  auto stage = make_stage("limit_data", {{"bytes", 0}});
  ASSERT_TRUE(stage);
  auto pieces = chunk("abc");
  StreamEffects fx;
  stage->on_data(pieces, kT0, fx);
  EXPECT_TRUE(pieces.empty());
  ASSERT_TRUE(fx.close_at);
  EXPECT_EQ(*fx.close_at, kT0);
}
