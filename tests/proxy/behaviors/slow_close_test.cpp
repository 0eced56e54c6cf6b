// `slow_close`: data untouched; the source's EOF is passed on `delay` ms late.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;
using std::chrono::milliseconds;

TEST(SlowClose, LeavesDataAloneAndDelaysTheEof) {
  auto stage = make_stage("slow_close", {{"delay", 250}});
  ASSERT_TRUE(stage);
  auto pieces = chunk("hello");
  StreamEffects fx;
  stage->on_data(pieces, kT0, fx);
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0].bytes, "hello");
  EXPECT_EQ(pieces[0].due, kT0);
  EXPECT_EQ(fx.added_delay, Clock::duration::zero());
  EXPECT_FALSE(fx.close_at);
  EXPECT_EQ(stage->on_eof(), milliseconds(250));
  EXPECT_FALSE(stage->deadline());
}
