// TLS contexts shared by the target, the proxy and the load generator (Boost.Asio SSL over
// OpenSSL 3). Files are read (here, or ahead by the caller: PemFiles) and parsed once, when a
// component starts or a proxy is created:
// a bad file comes back as a value naming the offending field, never as an exception, so callers
// can answer 400 (API) or exit 2 (flags/config) with one clear sentence.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ssl/context.hpp>

namespace faultline::tls {

// Terminating side. `client_ca` empty = no client certificate asked for; set = one is required and
// must chain to that CA.
struct ServerConfig {
  std::string cert, key, client_ca;
};

// Originating side. `verify` with an empty `ca` uses the system trust store. `sni` overrides the
// name sent in the ClientHello and checked against the peer's certificate (default: the host
// connected to). `cert`/`key`: an optional client certificate (both or neither).
struct ClientConfig {
  std::string ca;
  bool verify = true;
  std::string sni;
  std::string cert, key;
};

// error non-empty => failed: `field` is the offending field ("cert", "key", "client_ca", "ca") and
// `error` a sentence without the field ("cannot read /x.pem: No such file or directory", "key
// /k.pem does not match cert /c.pem", "no certificate in /x").
struct ContextResult {
  std::shared_ptr<boost::asio::ssl::context> context;
  std::string field;
  std::string error;
  bool ok() const noexcept { return error.empty(); }
  // "field: error" (for a CLI message), or "" when ok.
  std::string message() const { return error.empty() ? std::string() : field + ": " + error; }
};

// A certificate, key or CA file read ahead of building a context, so that the reading happens
// where blocking is harmless (the proxy's API reads on a file thread, never on the loop that
// accepts and relays) and building the context touches no disk.
struct PemFile {
  std::string content;  // the file's bytes, when `error` is empty
  std::string error;    // why it could not be read, as the make_*_context functions say it
};
using PemFiles = std::map<std::string, PemFile, std::less<>>;  // by path, as configured

// Reads a certificate, key or CA file as the contexts do: a regular file of at most 1 MiB,
// opened non-blocking and checked on the descriptor (a FIFO, a device or a directory is refused
// without a wait). May block on a slow file system, so never on an event loop that serves.
PemFile read_pem_file(const std::string& path);

// TLS 1.2+ server context with the certificate chain (leaf first) and key from PEM files. The
// server picks the first of `alpn` the client offers; a client offering none of them still
// connects, without ALPN. `files`: the files, read ahead (read_pem_file); null: read here.
ContextResult make_server_context(const ServerConfig& config,
                                  const std::vector<std::string>& alpn = {"http/1.1"},
                                  const PemFiles* files = nullptr);

// TLS 1.2+ client context. `alpn` (additive extension): protocols offered, none by default.
// Per-connection settings (SNI, the name to verify) go through prepare_client_ssl().
ContextResult make_client_context(const ClientConfig& config,
                                  const std::vector<std::string>& alpn = {},
                                  const PemFiles* files = nullptr);

// Before the handshake of one client connection to `host` (a name or an IP literal): sends SNI
// (config.sni, else host unless it is an IP literal) and, when config.verify, requires the peer
// certificate to name config.sni or else `host` (DNS name or IP SAN). Returns "" or an error.
std::string prepare_client_ssl(SSL* ssl, const ClientConfig& config, std::string_view host);

// After a failed handshake: why the peer's certificate was refused ("certificate has expired",
// "unable to get local issuer certificate", "hostname mismatch"), or "" if verification was not
// the reason.
std::string verify_failure(SSL* ssl);

// The oldest queued OpenSSL error as text (and clears the queue); "" when none.
std::string take_openssl_error();

}  // namespace faultline::tls
