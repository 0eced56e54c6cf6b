// `redis_error`: matching commands answered locally with an error line.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;

TEST(RedisError, AnswersWithTheMessage) {
  auto config = parse_behavior("redis_error", json::object(), Protocol::redis);
  ASSERT_TRUE(config);
  Rng rng(1);
  const RequestFault f = config->request_fault(rng, Stream::downstream);
  EXPECT_EQ(f.kind, RequestFault::Kind::error);
  EXPECT_EQ(f.body, "ERR injected by faultline");
}

TEST(RedisError, MatchesTheCommandCaseInsensitively) {
  auto config =
      parse_behavior("redis_error", {{"command", "get"}, {"message", "ERR nope"}}, Protocol::redis);
  ASSERT_TRUE(config);
  EXPECT_TRUE(config->matches(RequestInfo{"GET", {}, {}}));
  EXPECT_FALSE(config->matches(RequestInfo{"SET", {}, {}}));
  Rng rng(1);
  EXPECT_EQ(config->request_fault(rng, Stream::upstream).body, "ERR nope");
}
