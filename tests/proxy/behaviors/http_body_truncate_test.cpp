// `http_body_truncate`: exactly `bytes` body bytes pass, across pieces; the first byte beyond
// them cuts the body (close or reset, at that piece's due time); a body no longer passes whole.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;
using std::chrono::milliseconds;

TEST(HttpBodyTruncate, CutsAfterExactlyNBytesAcrossReads) {
  auto stage = make_body_stage("http_body_truncate", {{"bytes", 10}});
  ASSERT_TRUE(stage);
  StreamEffects fx;
  auto first = chunk("abcdef");
  stage->on_data(first, kT0, fx);
  EXPECT_EQ(joined(first), "abcdef");
  EXPECT_FALSE(fx.close_at);
  auto second = chunk("ghijkl", kT0 + milliseconds(5));
  stage->on_data(second, kT0 + milliseconds(5), fx);
  EXPECT_EQ(joined(second), "ghij");
  ASSERT_TRUE(fx.close_at);
  EXPECT_EQ(*fx.close_at, kT0 + milliseconds(5));
  EXPECT_FALSE(fx.reset_at);
  // Nothing after the cut.
  StreamEffects later;
  auto third = chunk("mnop", kT0 + milliseconds(6));
  stage->on_data(third, kT0 + milliseconds(6), later);
  EXPECT_TRUE(third.empty());
}

TEST(HttpBodyTruncate, ABodyOfAtMostNBytesPassesWhole) {
  auto stage = make_body_stage("http_body_truncate", {{"bytes", 6}});
  ASSERT_TRUE(stage);
  StreamEffects fx;
  auto pieces = chunk("abc");
  stage->on_data(pieces, kT0, fx);
  auto more = chunk("def");
  stage->on_data(more, kT0, fx);
  EXPECT_EQ(joined(pieces) + joined(more), "abcdef");
  EXPECT_FALSE(fx.close_at);  // the limit reached, not passed: the body may end here
  auto beyond = chunk("g", kT0 + milliseconds(1));
  stage->on_data(beyond, kT0 + milliseconds(1), fx);
  EXPECT_TRUE(beyond.empty());
  ASSERT_TRUE(fx.close_at);
  EXPECT_EQ(*fx.close_at, kT0 + milliseconds(1));
}

TEST(HttpBodyTruncate, ZeroBytesCutsAtTheFirstByteAndResetMode) {
  auto stage = make_body_stage("http_body_truncate", {{"bytes", 0}, {"mode", "reset"}});
  ASSERT_TRUE(stage);
  StreamEffects fx;
  auto pieces = chunk("x");
  stage->on_data(pieces, kT0, fx);
  EXPECT_TRUE(pieces.empty());
  EXPECT_FALSE(fx.close_at);
  ASSERT_TRUE(fx.reset_at);
  EXPECT_EQ(*fx.reset_at, kT0);
}

TEST(HttpBodyTruncate, TheCutComesAfterThePiecesBeforeIt) {
  // Pieces already delayed by an earlier stage: the cut is due with the piece it falls in.
  auto stage = make_body_stage("http_body_truncate", {{"bytes", 3}});
  ASSERT_TRUE(stage);
  std::vector<Piece> pieces{{kT0 + milliseconds(100), "ab"},
                            {kT0 + milliseconds(200), "cd"},
                            {kT0 + milliseconds(300), "ef"}};
  StreamEffects fx;
  stage->on_data(pieces, kT0, fx);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(joined(pieces), "abc");
  ASSERT_TRUE(fx.close_at);
  EXPECT_EQ(*fx.close_at, kT0 + milliseconds(200));
}
