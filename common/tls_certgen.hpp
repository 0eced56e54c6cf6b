// Throw-away certificates generated with OpenSSL's C API (no `openssl` binary needed): a CA, a
// server certificate for localhost / 127.0.0.1 / ::1 and a client certificate, all signed by that
// CA. Used by tests and by the scenario runner for a target started with `"tls": true`. The keys
// are fresh EC P-256 keys written with mode 0600; nothing here is meant to be trusted beyond one
// run.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

namespace faultline::tls {

struct PkiFiles {
  std::filesystem::path ca_cert, ca_key, server_cert, server_key, client_cert, client_key;
};

struct PkiResult {
  PkiFiles files;
  std::string error;  // non-empty => nothing usable was written
};

// Writes ca.pem, ca.key, server.pem, server.key, client.pem, client.key into `dir` (created if
// missing). Certificates are valid from one hour ago for `validity`.
PkiResult write_throwaway_pki(const std::filesystem::path& dir,
                              std::chrono::hours validity = std::chrono::hours(24 * 30));

}  // namespace faultline::tls
