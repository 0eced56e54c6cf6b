// `ws_delay_message`: each message's delay (delay ± jitter, seeded) and its validation.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;
using std::chrono::milliseconds;

TEST(WsDelayMessage, DelayAndJitterBounds) {
  auto config =
      parse_behavior("ws_delay_message", {{"delay", 200}, {"jitter", 20}}, Protocol::http);
  ASSERT_TRUE(config);
  Rng rng(9);
  bool below = false, above = false;
  for (int i = 0; i < 1000; ++i) {
    const auto f = config->message_fault(
        rng, MessageInfo{Stream::downstream, i % 2 == 0, static_cast<std::uint64_t>(i)});
    ASSERT_TRUE(f);
    EXPECT_FALSE(f->drop);
    EXPECT_GE(f->delay, milliseconds(180));
    EXPECT_LE(f->delay, milliseconds(220));
    below = below || f->delay < milliseconds(190);
    above = above || f->delay > milliseconds(210);
  }
  EXPECT_TRUE(below && above);
  EXPECT_EQ(config->attributes()["jitter"], 20);
}

TEST(WsDelayMessage, DelayRequiredAndBounded) {
  auto errors_of = [](const json& attrs) {
    ConfigErrors errors;
    parse_toxic(json{{"type", "ws_delay_message"}, {"attributes", attrs}}, "$", Protocol::http,
                builtin_registry(), errors);
    return errors.to_string();
  };
  EXPECT_NE(errors_of(json::object()).find("$.attributes.delay"), std::string::npos);
  EXPECT_NE(errors_of({{"delay", -1}}).find("$.attributes.delay"), std::string::npos);
  EXPECT_NE(errors_of({{"delay", kMaxDurationMs + 1}}).find("$.attributes.delay"),
            std::string::npos);
  EXPECT_NE(errors_of({{"delay", 1}, {"jitter", -1}}).find("$.attributes.jitter"),
            std::string::npos);
  EXPECT_EQ(errors_of({{"delay", 0}}), "");
}
