// `transient`: the first `count` connections/requests get the wrapped behavior, later ones pass.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;
using std::chrono::milliseconds;

TEST(Transient, FirstCountConnectionsGetTheWrappedStage) {
  auto config = parse_behavior(
      "transient",
      {{"count", 2}, {"behavior", {{"type", "latency"}, {"attributes", {{"latency", 10}}}}}});
  ASSERT_TRUE(config);
  Rng rng(1);
  for (int i = 0; i < 2; ++i) {
    auto stage = config->make_stream_stage(rng, kT0);
    ASSERT_TRUE(stage) << i;
    auto pieces = chunk("x");
    StreamEffects fx;
    stage->on_data(pieces, kT0, fx);
    EXPECT_EQ(pieces[0].due, kT0 + milliseconds(10));
  }
  EXPECT_EQ(config->make_stream_stage(rng, kT0), nullptr);
}

TEST(Transient, FirstCountRequestsGetTheWrappedFault) {
  auto config = parse_behavior("transient", {{"count", 1}, {"behavior", {{"type", "http_error"}}}},
                               Protocol::http);
  ASSERT_TRUE(config);
  Rng rng(1);
  EXPECT_EQ(config->request_fault(rng, Stream::upstream).kind, RequestFault::Kind::error);
  EXPECT_EQ(config->request_fault(rng, Stream::upstream).kind, RequestFault::Kind::none);
}
