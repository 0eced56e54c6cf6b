// `http_body_rate`: a body paced at `rate` KB/s in pieces of at most 100 ms worth of bytes, the
// link busy across reads (the pacing of `bandwidth`).
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;
using std::chrono::milliseconds;

TEST(HttpBodyRate, PacedAtTheRateInHundredMillisecondPieces) {
  auto stage = make_body_stage("http_body_rate", {{"rate", 10}});  // 10 KB/s: 1000 B per 100 ms
  ASSERT_TRUE(stage);
  StreamEffects fx;
  auto pieces = chunk(std::string(2500, 'a'));
  stage->on_data(pieces, kT0, fx);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[0].due, kT0 + milliseconds(100));
  EXPECT_EQ(pieces[1].due, kT0 + milliseconds(200));
  EXPECT_EQ(pieces[2].due, kT0 + milliseconds(250));
  EXPECT_EQ(joined(pieces), std::string(2500, 'a'));
  // The next read waits for the link.
  auto next = chunk(std::string(500, 'b'), kT0 + milliseconds(10));
  stage->on_data(next, kT0 + milliseconds(10), fx);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].due, kT0 + milliseconds(300));
  EXPECT_EQ(fx.added_delay.count(), 0);  // pacing is not counted as injected delay
}

TEST(HttpBodyRate, KilobytesAreThousandsOfBytes) {
  auto stage = make_body_stage("http_body_rate", {{"rate", 1000}});  // 1 MB/s
  ASSERT_TRUE(stage);
  StreamEffects fx;
  auto pieces = chunk(std::string(1'000'000, 'a'));
  stage->on_data(pieces, kT0, fx);
  ASSERT_FALSE(pieces.empty());
  EXPECT_EQ(pieces.back().due, kT0 + std::chrono::seconds(1));
}
