// `http_delay`: matching requests delayed `delay` ms before forwarding or before answering.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;
using std::chrono::milliseconds;

TEST(HttpDelay, DelaysTheRequestByDefault) {
  auto config = parse_behavior("http_delay", {{"delay", 40}}, Protocol::http);
  ASSERT_TRUE(config);
  Rng rng(1);
  const RequestFault f = config->request_fault(rng, Stream::downstream);
  EXPECT_EQ(f.kind, RequestFault::Kind::delay);
  EXPECT_EQ(f.delay, milliseconds(40));
  EXPECT_FALSE(f.after_response);
}

TEST(HttpDelay, WhenResponseDelaysTheAnswer) {
  auto config = parse_behavior("http_delay", {{"delay", 5}, {"when", "response"}}, Protocol::http);
  ASSERT_TRUE(config);
  Rng rng(1);
  const RequestFault f = config->request_fault(rng, Stream::upstream);
  EXPECT_EQ(f.delay, milliseconds(5));
  EXPECT_TRUE(f.after_response);
}
