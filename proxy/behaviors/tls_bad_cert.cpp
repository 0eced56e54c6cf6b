// `tls_bad_cert`: certificate chaos on proxies that terminate TLS: the handshake serves a bad
// certificate instead of the configured one — `certificate` "expired", "wrong_host" or
// "self_signed", generated when the proxy's `tls` is loaded (see proxy_tls.cpp) — drawn per
// connection with toxicity.
#include <fmt/format.h>

#include "proxy/behavior.hpp"
#include "proxy/proxy_tls.hpp"

namespace faultline::proxy {

namespace {

class TlsBadCertConfig : public BehaviorConfig {
 public:
  explicit TlsBadCertConfig(BadCert which) : which_(which) {}
  json attributes() const override { return {{"certificate", std::string(to_string(which_))}}; }
  std::optional<HandshakeFault> handshake_fault() const override {
    HandshakeFault f;
    f.bad_cert = which_;
    return f;
  }

 private:
  BadCert which_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(attrs, path, {"certificate"}, errors);
  auto c = get_string(attrs, path, "certificate", errors, true);
  if (!c) return nullptr;
  auto which = parse_bad_cert(*c);
  if (!which) {
    errors.add(
        path_join(path, "certificate"),
        fmt::format("must be \"expired\", \"wrong_host\" or \"self_signed\", got \"{}\"", *c));
    return nullptr;
  }
  return std::make_shared<TlsBadCertConfig>(*which);
}

}  // namespace

void register_tls_bad_cert(Registry& registry) {
  registry.add({.name = "tls_bad_cert",
                .description = "TLS proxies: serve an expired, wrong-host or self-signed "
                               "certificate instead of the configured one",
                .parse = parse});
}

}  // namespace faultline::proxy
