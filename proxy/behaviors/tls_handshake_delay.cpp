// `tls_handshake_delay`: certificate chaos on proxies that terminate TLS: the client hello waits
// `delay` ms before the proxy answers it (the server hello), drawn per connection with toxicity.
#include "proxy/behavior.hpp"

namespace faultline::proxy {

namespace {

class TlsHandshakeDelayConfig : public BehaviorConfig {
 public:
  explicit TlsHandshakeDelayConfig(std::int64_t delay) : delay_(delay) {}
  json attributes() const override { return {{"delay", delay_}}; }
  std::optional<HandshakeFault> handshake_fault() const override {
    HandshakeFault f;
    f.delay = millis(delay_);
    return f;
  }

 private:
  std::int64_t delay_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(attrs, path, {"delay"}, errors);
  return std::make_shared<TlsHandshakeDelayConfig>(
      attr_nonneg_int(attrs, path, "delay", 1000, errors, kMaxDurationMs));
}

}  // namespace

void register_tls_handshake_delay(Registry& registry) {
  registry.add({.name = "tls_handshake_delay",
                .description = "TLS proxies: wait delay ms before answering the client hello",
                .parse = parse});
}

}  // namespace faultline::proxy
