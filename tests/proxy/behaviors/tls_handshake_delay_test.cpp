// `tls_handshake_delay`: a handshake fault with the delay and nothing else; no stream stage and no
// request fault (it acts on the client handshake only).
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;

TEST(TlsHandshakeDelay, IsAHandshakeFaultOnly) {
  auto config = parse_behavior("tls_handshake_delay", {{"delay", 250}});
  ASSERT_TRUE(config);
  auto f = config->handshake_fault();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->delay, std::chrono::milliseconds(250));
  EXPECT_EQ(f->alert, 0);
  EXPECT_FALSE(f->bad_cert);
  Rng rng(1);
  EXPECT_FALSE(config->make_stream_stage(rng, kT0));
  EXPECT_EQ(config->request_fault(rng, Stream::downstream).kind, RequestFault::Kind::none);
  EXPECT_EQ(config->attributes(), (json{{"delay", 250}}));
  EXPECT_EQ(parse_behavior("tls_handshake_delay", json::object(), Protocol::http)->attributes(),
            (json{{"delay", 1000}}));
}

TEST(TlsHandshakeDelay, RejectsBadAttributes) {
  ConfigErrors errors;
  parse_toxic({{"type", "tls_handshake_delay"}, {"attributes", {{"delay", -1}, {"x", 1}}}}, "$",
              Protocol::tcp, builtin_registry(), errors);
  EXPECT_NE(errors.to_string().find("$.attributes.delay"), std::string::npos) << errors.to_string();
  EXPECT_NE(errors.to_string().find("$.attributes.x"), std::string::npos) << errors.to_string();
}
