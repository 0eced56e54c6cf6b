// `ws_corrupt`: text messages only; its validation. The 0xFF byte and the client's 1007 are in
// tests/proxy/websocket_test.cpp.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;

TEST(WsCorrupt, TextMessagesOnly) {
  auto config = parse_behavior("ws_corrupt", {{"path_prefix", "/ws"}}, Protocol::http);
  ASSERT_TRUE(config);
  Rng rng(1);
  const auto text = config->message_fault(rng, MessageInfo{Stream::downstream, true, 0});
  ASSERT_TRUE(text);
  EXPECT_TRUE(text->corrupt);
  EXPECT_FALSE(text->drop);
  EXPECT_FALSE(config->message_fault(rng, MessageInfo{Stream::downstream, false, 1}));
  EXPECT_EQ(config->attributes()["path_prefix"], "/ws");
}

TEST(WsCorrupt, NoAttributesOfItsOwn) {
  ConfigErrors errors;
  parse_toxic(json{{"type", "ws_corrupt"}, {"attributes", {{"bytes", 1}}}}, "$", Protocol::http,
              builtin_registry(), errors);
  EXPECT_NE(errors.to_string().find("$.attributes.bytes"), std::string::npos);
  ConfigErrors on_tcp;
  parse_toxic(json{{"type", "ws_corrupt"}}, "$", Protocol::tcp, builtin_registry(), on_tcp);
  EXPECT_NE(on_tcp.to_string().find("$.type"), std::string::npos);
}
