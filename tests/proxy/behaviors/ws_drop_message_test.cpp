// `ws_drop_message`: which messages it drops (`message` text|binary|any) and its validation.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;

TEST(WsDropMessage, AnyByDefault) {
  auto config = parse_behavior("ws_drop_message", json::object(), Protocol::http);
  ASSERT_TRUE(config);
  Rng rng(1);
  for (bool text : {true, false}) {
    const auto f = config->message_fault(rng, MessageInfo{Stream::downstream, text, 0});
    ASSERT_TRUE(f);
    EXPECT_TRUE(f->drop);
    EXPECT_FALSE(f->corrupt);
  }
  EXPECT_EQ(config->attributes()["message"], "any");
  EXPECT_EQ(config->request_fault(rng, Stream::downstream).kind, RequestFault::Kind::none);
}

TEST(WsDropMessage, TextOrBinaryOnly) {
  Rng rng(1);
  auto text = parse_behavior("ws_drop_message", {{"message", "text"}}, Protocol::http);
  ASSERT_TRUE(text);
  EXPECT_TRUE(text->message_fault(rng, MessageInfo{Stream::upstream, true, 3}));
  EXPECT_FALSE(text->message_fault(rng, MessageInfo{Stream::upstream, false, 3}));
  auto binary = parse_behavior("ws_drop_message", {{"message", "binary"}}, Protocol::http);
  ASSERT_TRUE(binary);
  EXPECT_FALSE(binary->message_fault(rng, MessageInfo{Stream::upstream, true, 3}));
  EXPECT_TRUE(binary->message_fault(rng, MessageInfo{Stream::upstream, false, 3}));
}

TEST(WsDropMessage, BadAttributesNamedByPath) {
  ConfigErrors errors;
  parse_toxic(json{{"type", "ws_drop_message"}, {"attributes", {{"message", "ping"}}}}, "$",
              Protocol::http, builtin_registry(), errors);
  EXPECT_NE(errors.to_string().find("$.attributes.message"), std::string::npos);
  ConfigErrors on_redis;
  parse_toxic(json{{"type", "ws_drop_message"}}, "$", Protocol::redis, builtin_registry(),
              on_redis);
  EXPECT_NE(on_redis.to_string().find("$.type"), std::string::npos);
}
