// `tls_bad_cert`: certificate chaos on proxies that terminate TLS: the handshake serves a bad
// certificate instead of the configured one — `certificate` "expired", "wrong_host" or
// "self_signed" (derived from the configured certificate when the proxy's `tls` is loaded, or
// minted for the client's SNI by the proxy's CA: see proxy_tls.cpp, cert_minter.hpp), or the
// certificate and key of the files `cert` and `key` (read when the toxic is parsed) — drawn per
// connection with toxicity.
#include <fmt/format.h>

#include "proxy/behavior.hpp"
#include "proxy/proxy_tls.hpp"

namespace faultline::proxy {

namespace {

class TlsBadCertConfig : public BehaviorConfig {
 public:
  explicit TlsBadCertConfig(BadCert which) : which_(which) {}
  TlsBadCertConfig(std::string cert, std::string key, std::shared_ptr<const CertAndKey> given)
      : cert_(std::move(cert)), key_(std::move(key)), given_(std::move(given)) {}
  json attributes() const override {
    if (given_) return {{"cert", cert_}, {"key", key_}};
    return {{"certificate", std::string(to_string(which_))}};
  }
  std::optional<HandshakeFault> handshake_fault() const override {
    HandshakeFault f;
    if (given_)
      f.given_cert = given_;
    else
      f.bad_cert = which_;
    return f;
  }

 private:
  BadCert which_ = BadCert::expired;
  std::string cert_, key_;
  std::shared_ptr<const CertAndKey> given_;
};

bool present(const json& attrs, const char* key) {
  auto it = attrs.find(key);
  return it != attrs.end() && !it->is_null();  // null: left out (how an update drops one)
}

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(attrs, path, {"certificate", "cert", "key"}, errors);
  if (present(attrs, "cert") || present(attrs, "key")) {
    if (present(attrs, "certificate")) {
      errors.add(path_join(path, "certificate"),
                 "give either \"certificate\" or the files \"cert\" and \"key\", not both");
      return nullptr;
    }
    std::string files[2];
    bool ok = true;
    for (int i = 0; i < 2; ++i) {
      const char* key = i == 0 ? "cert" : "key";
      auto f = get_string(attrs, path, key, errors, true);
      if (f && f->empty()) errors.add(path_join(path, key), "must be a file name");
      if (!f || f->empty()) ok = false;
      if (f) files[i] = *f;
    }
    if (!ok) return nullptr;
    auto given = load_cert_and_key(files[0], files[1], path, errors);
    if (!given) return nullptr;
    return std::make_shared<TlsBadCertConfig>(files[0], files[1], std::move(given));
  }
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
                               "certificate (CA-signed with a tls.ca), or given files, instead "
                               "of the configured one",
                .parse = parse});
}

}  // namespace faultline::proxy
