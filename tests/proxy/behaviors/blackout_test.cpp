// `blackout`: a tcp connection closes as soon as the stage exists; http/redis requests aborted.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;
using std::chrono::milliseconds;

TEST(Blackout, DeadlineIsTheStagesCreationAndDataIsDropped) {
  auto stage = make_stage("blackout", json::object(), 7, kT0 + milliseconds(3));
  ASSERT_TRUE(stage);
  ASSERT_TRUE(stage->deadline());
  EXPECT_EQ(*stage->deadline(), kT0 + milliseconds(3));
  auto pieces = chunk("abc", kT0 + milliseconds(4));
  StreamEffects fx;
  stage->on_data(pieces, kT0 + milliseconds(4), fx);
  EXPECT_TRUE(pieces.empty());
}

TEST(Blackout, RequestFaultIsAbort) {
  auto config = parse_behavior("blackout", json::object(), Protocol::redis);
  ASSERT_TRUE(config);
  Rng rng(1);
  EXPECT_EQ(config->request_fault(rng, Stream::upstream).kind, RequestFault::Kind::abort);
}
