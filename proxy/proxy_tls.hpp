// TLS on a proxy: the `tls` (terminate TLS from clients) and `upstream_tls` (originate TLS to the
// upstream) objects of a proxy, parsed and turned once into OpenSSL contexts (a bad file is a
// config error naming its field), plus what the certificate-chaos toxics need at handshake time:
// the substitute certificates generated from the configured one, the leafs a configured CA mints
// (cert_minter.hpp), and the client-hello hook that installs them and sends alerts.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>

#include "common/config.hpp"
#include "common/tls.hpp"
#include "proxy/behavior.hpp"
#include "proxy/cert_minter.hpp"
#include "proxy/proxy_metrics.hpp"

namespace faultline::proxy {

// `"tls": {"cert", "key", "client_ca"?, "ca"?: {"cert", "key"}}`: with `ca`, `cert`/`key` are
// optional (without them every client gets a leaf the CA mints for its SNI).
struct TlsSettings {
  std::string cert, key, client_ca;
  std::string ca_cert, ca_key;
  bool mints() const { return !ca_cert.empty(); }
  bool operator==(const TlsSettings&) const = default;
};

// `"upstream_tls": {"ca" | "verify": false, "sni"?, "cert"?, "key"?}`.
struct UpstreamTlsSettings {
  std::string ca;
  bool verify = true;
  std::string sni;
  std::string cert, key;
  bool operator==(const UpstreamTlsSettings&) const = default;
};

// Whether `name` may be sent as SNI / verified against the upstream's certificate: an IP
// literal, or a DNS name (RFC 6066 3: a host name, at most 255 bytes on the wire, no NUL) — labels
// of 1 to 63 letters, digits, '-' (not at either end) and '_', 253 characters in all, with an
// optional final dot.
inline constexpr std::size_t kMaxSniBytes = 255;
bool valid_sni(std::string_view name);

std::string_view to_string(BadCert b);
std::optional<BadCert> parse_bad_cert(std::string_view s);

// What connections use, built once per settings change and shared read-only.
struct TlsRuntime {
  std::shared_ptr<boost::asio::ssl::context> server;  // null: clients speak plain TCP
  std::shared_ptr<boost::asio::ssl::context> client;  // null: the upstream speaks plain TCP
  tls::ClientConfig client_config;                    // SNI and the name to verify
  std::array<CertAndKey, kBadCerts> bad;              // served by tls_bad_cert (server side)
  // `tls.ca`: mints leafs (valid ones when `mint_always`, else only tls_bad_cert's expired and
  // wrong_host); null without a CA.
  std::shared_ptr<CertMinter> minter;
  bool mint_always = false;  // no configured certificate: every client gets a minted leaf
};

// JSON of the settings, as the API shows them (paths as given).
json tls_json(const TlsSettings& s);
json tls_json(const UpstreamTlsSettings& s);

// Parses `body[key]` ("tls" or "upstream_tls"); errors carry their JSON paths.
std::optional<TlsSettings> parse_tls(const json& v, const std::string& path, ConfigErrors& errors);
std::optional<UpstreamTlsSettings> parse_upstream_tls(const json& v, const std::string& path,
                                                      ConfigErrors& errors);

// The largest certificate, key or CA file a proxy reads (1 MiB: a long chain is a few KiB).
inline constexpr std::uint64_t kMaxTlsFileBytes = std::uint64_t{1} << 20;

// The TLS files an API call names, read ahead on a file thread (ProxyServer::handle_async) so the
// control loop, which also runs the acceptors, never waits for a disk: set for the scope of the
// call's handle() on its thread, and every parser of the call that loads a file (`tls`,
// `upstream_tls`, tls_bad_cert's `cert`/`key`) reads it from here. Null elsewhere (start-up
// --config, tests), where files are read from disk.
class ReadAheadFiles {
 public:
  explicit ReadAheadFiles(const tls::PemFiles* files);
  ~ReadAheadFiles();
  ReadAheadFiles(const ReadAheadFiles&) = delete;
  ReadAheadFiles& operator=(const ReadAheadFiles&) = delete;
  static const tls::PemFiles* current();

 private:
  const tls::PemFiles* previous_;
};

// Builds the contexts (and the substitute certificates) from the files; a file that cannot be
// read or parsed, or a key that does not match its certificate, is an error at
// `<path>.tls.<field>` / `<path>.upstream_tls.<field>`. Null when neither is set. Each file must
// be a regular file of at most kMaxTlsFileBytes and is read once (from ReadAheadFiles::current()
// when set).
std::shared_ptr<const TlsRuntime> build_tls_runtime(const std::optional<TlsSettings>& server,
                                                    const std::optional<UpstreamTlsSettings>& up,
                                                    const std::string& path, ConfigErrors& errors);

// A certificate chain (leaf first) and its key from the files `cert` and `key`, for tls_bad_cert:
// from ReadAheadFiles::current() when set, else from disk under the rules of `tls` files. A file
// that cannot be read or parsed or a key that does not match is an error at `<path>.cert` /
// `<path>.key`; null then.
std::shared_ptr<const CertAndKey> load_cert_and_key(const std::string& cert, const std::string& key,
                                                    const std::string& path, ConfigErrors& errors);

// The TLS alert numbers `tls_alert` accepts by name ("handshake_failure" → 40); nullopt when the
// name is unknown. `alert_names()` lists them for error messages.
std::optional<int> parse_alert(std::string_view name);
std::string alert_names();

// Before a server-side handshake: makes this handshake fail with `fault.alert` (sent in answer to
// the client hello) when non-zero; serves `fault.given_cert`, else the `fault.bad_cert` variant
// (minted for the client's SNI by the CA when `rt` has one), else — with a CA and no configured
// certificate — a leaf minted for the SNI. `local`: the address the client connected to, the
// name of a leaf for a client that sends no SNI. `rt` and `counters` must outlive the handshake.
void arm_server_chaos(SSL* ssl, const TlsRuntime& rt, const HandshakeFault& fault,
                      const boost::asio::ip::address& local, const ProxyCounters& counters);

// What a client hello's server_name extension names: the first host_name, if it is a valid
// name (valid_sni; at most kMaxSniBytes), in lower case without a final dot; "" otherwise (no
// SNI, a malformed extension, a name with a NUL or a control character). `ext`: the extension's
// body (SSL_client_hello_get0_ext).
std::string sni_from_extension(const unsigned char* ext, std::size_t size);

// Whether the last handshake failure of `ssl` was the one arm_server_chaos() asked for.
bool failed_by_chaos(SSL* ssl);

}  // namespace faultline::proxy
