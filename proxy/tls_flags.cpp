// TLS flags → the proxy JSON's `tls` / `upstream_tls` (see tls_flags.hpp).
#include "proxy/tls_flags.hpp"

#include <filesystem>
#include <system_error>

#include <CLI/CLI.hpp>

namespace faultline::proxy {

namespace {

std::string absolute(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

}  // namespace

void add_tls_flags(CLI::App& app, TlsFlags& f, const std::string& help_prefix) {
  app.add_option("--tls-cert", f.cert,
                 help_prefix + "terminate TLS from clients with this certificate (PEM chain)");
  app.add_option("--tls-key", f.key, help_prefix + "the key of --tls-cert (PEM)");
  app.add_option("--tls-client-ca", f.client_ca,
                 help_prefix + "require client certificates signed by this CA");
  app.add_option("--tls-ca-cert", f.ca_cert,
                 help_prefix +
                     "terminate TLS with a certificate this CA mints for each client's "
                     "SNI (with --tls-ca-key; --tls-cert/--tls-key become optional)");
  app.add_option("--tls-ca-key", f.ca_key, help_prefix + "the key of --tls-ca-cert (PEM)");
  app.add_flag(
      "--upstream-tls", f.upstream,
      help_prefix + "originate TLS to the upstream (system trust store unless --upstream-tls-ca)");
  app.add_option("--upstream-tls-ca", f.upstream_ca,
                 help_prefix + "originate TLS, verifying the upstream against this CA");
  app.add_option("--upstream-tls-sni", f.upstream_sni,
                 help_prefix + "originate TLS, sending and verifying this name");
  app.add_flag("--upstream-tls-insecure", f.upstream_insecure,
               help_prefix + "originate TLS without verifying the upstream's certificate");
}

void apply_tls_flags(const TlsFlags& f, json& proxy) {
  if (f.terminates()) {
    // Empty cert or key stay empty: the API reports the missing one with its JSON path. With a
    // CA they may both be left out.
    json t = json::object();
    if (!f.mints() || !f.cert.empty() || !f.key.empty()) {
      t["cert"] = f.cert.empty() ? f.cert : absolute(f.cert);
      t["key"] = f.key.empty() ? f.key : absolute(f.key);
    }
    if (f.mints())
      t["ca"] = {{"cert", f.ca_cert.empty() ? f.ca_cert : absolute(f.ca_cert)},
                 {"key", f.ca_key.empty() ? f.ca_key : absolute(f.ca_key)}};
    if (!f.client_ca.empty()) t["client_ca"] = absolute(f.client_ca);
    proxy["tls"] = std::move(t);
  }
  if (f.originates()) {
    json u{{"verify", !f.upstream_insecure}};
    if (!f.upstream_ca.empty()) u["ca"] = absolute(f.upstream_ca);
    if (!f.upstream_sni.empty()) u["sni"] = f.upstream_sni;
    proxy["upstream_tls"] = std::move(u);
  }
}

void absolute_file_attributes(json& attributes) {
  if (!attributes.is_object()) return;
  for (const char* key : {"cert", "key"})
    if (auto it = attributes.find(key); it != attributes.end() && it->is_string())
      if (const auto path = it->get<std::string>(); !path.empty()) *it = absolute(path);
}

}  // namespace faultline::proxy
