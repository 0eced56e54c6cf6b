// The TLS flags shared by `faultline proxy`'s one-liner and `faultline ctl create`: terminate TLS
// from clients with --tls-cert/--tls-key (--tls-client-ca: require client certificates) and/or
// --tls-ca-cert/--tls-ca-key (a CA that mints a certificate for each client's SNI); originate TLS
// to the upstream when any --upstream-tls* flag is given. They become the proxy JSON's `tls` and
// `upstream_tls` members (docs/proxy.md "TLS"), which the API validates.
#pragma once

#include <string>

#include "common/config.hpp"

namespace CLI {
class App;
}

namespace faultline::proxy {

struct TlsFlags {
  std::string cert, key, client_ca;
  std::string ca_cert, ca_key;
  bool upstream = false;
  std::string upstream_ca, upstream_sni;
  bool upstream_insecure = false;

  bool terminates() const { return !cert.empty() || !key.empty() || !client_ca.empty() || mints(); }
  bool mints() const { return !ca_cert.empty() || !ca_key.empty(); }
  bool originates() const {
    return upstream || !upstream_ca.empty() || !upstream_sni.empty() || upstream_insecure;
  }
};

// Adds the nine flags to `app`; `help_prefix` starts each help text (e.g. "one-liner: ").
void add_tls_flags(CLI::App& app, TlsFlags& flags, const std::string& help_prefix);

// Sets `proxy["tls"]` and/or `proxy["upstream_tls"]` from the flags given. File paths are made
// absolute (from this process's directory): the proxy reads them, and it may run elsewhere.
void apply_tls_flags(const TlsFlags& flags, json& proxy);

// Makes the file attributes of a toxic (tls_bad_cert's `cert` and `key`) absolute, as
// apply_tls_flags does for the proxy's files.
void absolute_file_attributes(json& attributes);

}  // namespace faultline::proxy
