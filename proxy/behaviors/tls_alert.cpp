// `tls_alert`: certificate chaos on proxies that terminate TLS: the handshake fails with the TLS
// alert `alert` (a name such as "handshake_failure") sent in answer to the client hello, drawn per
// connection with toxicity.
#include <fmt/format.h>

#include "proxy/behavior.hpp"
#include "proxy/proxy_tls.hpp"

namespace faultline::proxy {

namespace {

class TlsAlertConfig : public BehaviorConfig {
 public:
  TlsAlertConfig(std::string name, int code) : name_(std::move(name)), code_(code) {}
  json attributes() const override { return {{"alert", name_}}; }
  std::optional<HandshakeFault> handshake_fault() const override {
    HandshakeFault f;
    f.alert = code_;
    return f;
  }

 private:
  std::string name_;
  int code_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(attrs, path, {"alert"}, errors);
  std::string name = "handshake_failure";
  if (auto a = get_string(attrs, path, "alert", errors)) name = *a;
  auto code = parse_alert(name);
  if (!code) {
    errors.add(path_join(path, "alert"),
               fmt::format("unknown TLS alert \"{}\" (known: {})", name, alert_names()));
    return nullptr;
  }
  return std::make_shared<TlsAlertConfig>(std::move(name), *code);
}

}  // namespace

void register_tls_alert(Registry& registry) {
  registry.add({.name = "tls_alert",
                .description = "TLS proxies: fail the handshake with the TLS alert `alert`",
                .parse = parse});
}

}  // namespace faultline::proxy
