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

TEST(RedisDelay, ModeServerIsTheDefaultAndNetworkCountsFromArrival) {
  Rng rng(1);
  auto server = parse_behavior("redis_delay", {{"delay", 25}}, Protocol::redis);
  ASSERT_TRUE(server);
  EXPECT_FALSE(server->request_fault(rng, Stream::upstream).from_arrival);
  EXPECT_EQ(server->attributes()["mode"], "server");
  auto network =
      parse_behavior("redis_delay", {{"delay", 25}, {"mode", "network"}}, Protocol::redis);
  ASSERT_TRUE(network);
  const RequestFault f = network->request_fault(rng, Stream::upstream);
  EXPECT_TRUE(f.from_arrival);
  EXPECT_EQ(f.delay, milliseconds(25));
  EXPECT_EQ(network->attributes()["mode"], "network");
}

TEST(RedisDelay, UnknownModeIsAnErrorAtItsPath) {
  ConfigErrors errors;
  const auto toxic =
      parse_toxic(json{{"type", "redis_delay"}, {"attributes", {{"delay", 25}, {"mode", "wire"}}}},
                  "$", Protocol::redis, builtin_registry(), errors);
  EXPECT_FALSE(toxic.has_value());
  EXPECT_NE(errors.to_string().find("$.attributes.mode: must be \"server\" or \"network\""),
            std::string::npos)
      << errors.to_string();
}
