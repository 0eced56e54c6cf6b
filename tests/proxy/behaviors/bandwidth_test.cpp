// `bandwidth`: a direction paced to `rate` KB/s in pieces of at most 100 ms worth of bytes.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;
using std::chrono::milliseconds;

TEST(Bandwidth, CutsAChunkIntoHundredMillisecondPiecesPacedAtTheRate) {
  auto stage = make_stage("bandwidth", {{"rate", 10}});  // 10 KB/s: 1000-byte pieces, 100 ms each
  ASSERT_TRUE(stage);
  auto pieces = chunk(std::string(2500, 'a'));
  StreamEffects fx;
  stage->on_data(pieces, kT0, fx);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[0].bytes.size(), 1000u);
  EXPECT_EQ(pieces[1].bytes.size(), 1000u);
  EXPECT_EQ(pieces[2].bytes.size(), 500u);
  EXPECT_EQ(pieces[0].due, kT0 + milliseconds(100));
  EXPECT_EQ(pieces[1].due, kT0 + milliseconds(200));
  EXPECT_EQ(pieces[2].due, kT0 + milliseconds(250));
  EXPECT_EQ(joined(pieces), std::string(2500, 'a'));
  EXPECT_FALSE(fx.close_at);
}

TEST(Bandwidth, TheLinkStaysBusyAcrossChunks) {
  auto stage = make_stage("bandwidth", {{"rate", 10}});
  ASSERT_TRUE(stage);
  auto first = chunk(std::string(1000, 'a'));
  StreamEffects fx;
  stage->on_data(first, kT0, fx);
  // Arrives while the first piece is still on the wire: starts when the link is free.
  auto second = chunk(std::string(500, 'b'), kT0 + milliseconds(10));
  stage->on_data(second, kT0 + milliseconds(10), fx);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].due, kT0 + milliseconds(150));
  // Arrives after the link went idle: starts at its own arrival.
  auto third = chunk(std::string(100, 'c'), kT0 + milliseconds(1000));
  stage->on_data(third, kT0 + milliseconds(1000), fx);
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].due, kT0 + milliseconds(1010));
}

TEST(Bandwidth, RateZeroIsUnlimited) {
  auto stage = make_stage("bandwidth", {{"rate", 0}});
  ASSERT_TRUE(stage);
  auto pieces = chunk(std::string(100000, 'a'));
  StreamEffects fx;
  stage->on_data(pieces, kT0, fx);
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0].due, kT0);
  EXPECT_EQ(pieces[0].bytes.size(), 100000u);
}
