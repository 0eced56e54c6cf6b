// `ws_close`: its plan (code, reason, after_messages, after) and the validation of each attribute,
// with its JSON path. What a client sees is in tests/proxy/websocket_test.cpp.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;

namespace {

// The errors of {"type": "ws_close", "attributes": attrs} on an http proxy ("" when accepted).
std::string ws_close_errors(const json& attrs, Protocol protocol = Protocol::http) {
  ConfigErrors errors;
  parse_toxic(json{{"type", "ws_close"}, {"attributes", attrs}}, "$", protocol, builtin_registry(),
              errors);
  return errors.to_string();
}

}  // namespace

TEST(WsClose, PlanWithDefaults) {
  auto config = parse_behavior("ws_close", {{"after_messages", 5}}, Protocol::http);
  ASSERT_TRUE(config);
  const auto plan = config->ws_close();
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->code, 1001);
  EXPECT_EQ(plan->reason, "");
  EXPECT_EQ(plan->after_messages, 5u);
  EXPECT_FALSE(plan->after);
  EXPECT_EQ(config->attributes()["code"], 1001);
  Rng rng(1);
  EXPECT_EQ(config->request_fault(rng, Stream::downstream).kind, RequestFault::Kind::none);
  EXPECT_FALSE(config->message_fault(rng, MessageInfo{}));
}

TEST(WsClose, CodeReasonAndBothThresholds) {
  auto config = parse_behavior(
      "ws_close", {{"code", 4000}, {"reason", "restart"}, {"after_messages", 2}, {"after", 1500}},
      Protocol::http);
  ASSERT_TRUE(config);
  const auto plan = config->ws_close();
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->code, 4000);
  EXPECT_EQ(plan->reason, "restart");
  EXPECT_EQ(plan->after_messages, 2u);
  EXPECT_EQ(plan->after, std::chrono::milliseconds(1500));
  EXPECT_EQ(config->attributes()["after"], 1500);
}

TEST(WsClose, BadAttributesNamedByPath) {
  EXPECT_NE(ws_close_errors(json::object()).find("$.attributes: ws_close needs"),
            std::string::npos);
  for (int code : {999, 1004, 1005, 1006, 1015, 2999, 5000})
    EXPECT_NE(ws_close_errors({{"after", 1}, {"code", code}}).find("$.attributes.code"),
              std::string::npos)
        << code;
  EXPECT_EQ(ws_close_errors({{"after", 1}, {"code", 1012}}), "");
  EXPECT_NE(ws_close_errors({{"after", 1}, {"reason", std::string(124, 'r')}})
                .find("$.attributes.reason"),
            std::string::npos);
  EXPECT_EQ(ws_close_errors({{"after", 1}, {"reason", std::string(123, 'r')}}), "");
  EXPECT_NE(ws_close_errors({{"after_messages", 0}}).find("$.attributes.after_messages"),
            std::string::npos);
  EXPECT_NE(ws_close_errors({{"after", -1}}).find("$.attributes.after"), std::string::npos);
  EXPECT_NE(ws_close_errors({{"after", 1}, {"bytes", 1}}).find("$.attributes.bytes"),
            std::string::npos);
  EXPECT_NE(ws_close_errors({{"after", 1}}, Protocol::tcp).find("$.type"), std::string::npos);
}
