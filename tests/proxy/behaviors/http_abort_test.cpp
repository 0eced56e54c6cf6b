// `http_abort`: the connection cut before forwarding (when request) or before answering.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;

TEST(HttpAbort, BeforeForwardingByDefault) {
  auto config = parse_behavior("http_abort", json::object(), Protocol::http);
  ASSERT_TRUE(config);
  Rng rng(1);
  EXPECT_EQ(config->request_fault(rng, Stream::upstream).kind, RequestFault::Kind::abort);
}

TEST(HttpAbort, WhenResponseForwardsThenCuts) {
  auto config = parse_behavior("http_abort", {{"when", "response"}}, Protocol::http);
  ASSERT_TRUE(config);
  Rng rng(1);
  EXPECT_EQ(config->request_fault(rng, Stream::upstream).kind, RequestFault::Kind::abort_upstream);
}
