// `redis_delay`: the reply to matching commands delayed `delay` ms.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;
using std::chrono::milliseconds;

TEST(RedisDelay, DelaysTheReply) {
  auto config = parse_behavior("redis_delay", {{"delay", 25}}, Protocol::redis);
  ASSERT_TRUE(config);
  Rng rng(1);
  const RequestFault f = config->request_fault(rng, Stream::upstream);
  EXPECT_EQ(f.kind, RequestFault::Kind::delay);
  EXPECT_EQ(f.delay, milliseconds(25));
  EXPECT_TRUE(f.after_response);
}
