// Proxy TLS settings, contexts and certificate-chaos certificates (see proxy_tls.hpp).
#include "proxy/proxy_tls.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <utility>

#include <boost/asio/ip/address.hpp>

#include <fmt/format.h>

#include "common/net.hpp"

namespace faultline::proxy {

namespace {

constexpr std::pair<const char*, int> kAlerts[] = {
    {"handshake_failure", SSL_AD_HANDSHAKE_FAILURE},
    {"bad_certificate", SSL_AD_BAD_CERTIFICATE},
    {"unsupported_certificate", SSL_AD_UNSUPPORTED_CERTIFICATE},
    {"certificate_revoked", SSL_AD_CERTIFICATE_REVOKED},
    {"certificate_expired", SSL_AD_CERTIFICATE_EXPIRED},
    {"certificate_unknown", SSL_AD_CERTIFICATE_UNKNOWN},
    {"illegal_parameter", SSL_AD_ILLEGAL_PARAMETER},
    {"unknown_ca", SSL_AD_UNKNOWN_CA},
    {"access_denied", SSL_AD_ACCESS_DENIED},
    {"decode_error", SSL_AD_DECODE_ERROR},
    {"decrypt_error", SSL_AD_DECRYPT_ERROR},
    {"protocol_version", SSL_AD_PROTOCOL_VERSION},
    {"insufficient_security", SSL_AD_INSUFFICIENT_SECURITY},
    {"internal_error", SSL_AD_INTERNAL_ERROR},
    {"user_canceled", SSL_AD_USER_CANCELLED},
    {"unrecognized_name", SSL_AD_UNRECOGNIZED_NAME},
    {"no_application_protocol", SSL_AD_NO_APPLICATION_PROTOCOL},
};

// What the client-hello hook needs for one server-side handshake (set by arm_server_chaos, in
// the SSL's ex_data, freed with the SSL).
struct HandshakeState {
  const TlsRuntime* rt = nullptr;
  int alert = 0;                            // fail the handshake with this alert (0: no)
  std::optional<BadCert> bad;               // serve this variant
  std::shared_ptr<const CertAndKey> given;  // serve this certificate (tls_bad_cert's files)
  std::string local;                        // the address the client connected to, as a name
  prometheus::Counter* minted = nullptr;
  prometheus::Gauge* cache_entries = nullptr;
  bool fired = false;  // the alert was sent
};

void free_state(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
                void* /*argp*/) {
  delete static_cast<HandshakeState*>(ptr);
}

int state_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_state);
  return index;
}

HandshakeState* state_of(SSL* ssl) {
  return static_cast<HandshakeState*>(SSL_get_ex_data(ssl, state_index()));
}

// The certificate this handshake serves instead of the context's, or null to keep that one.
std::shared_ptr<const CertAndKey> substitute(SSL* ssl, HandshakeState& st) {
  if (st.given) return st.given;
  const TlsRuntime& rt = *st.rt;
  const bool mint = rt.minter && (rt.mint_always || (st.bad && *st.bad != BadCert::self_signed));
  if (!mint) {
    if (!st.bad) return nullptr;
    // Not owned: the runtime outlives the handshake.
    return std::shared_ptr<const CertAndKey>(std::shared_ptr<const CertAndKey>(),
                                             &rt.bad[static_cast<std::size_t>(*st.bad)]);
  }
  const unsigned char* ext = nullptr;
  std::size_t size = 0;
  std::string name;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &size) == 1)
    name = sni_from_extension(ext, size);
  if (name.empty()) name = st.local;
  auto leaf = rt.minter->leaf(name, st.bad);
  if (leaf.minted && st.minted) {
    st.minted->Increment();
    st.cache_entries->Set(static_cast<double>(rt.minter->size()));
  }
  return leaf.cert;
}

// Installed on every server context: fails the handshake in answer to the client hello (before
// any server hello) when the connection's tls_alert toxic asked for it; else installs the
// certificate the handshake serves when it is not the context's (a bad certificate, a minted
// leaf for the client's SNI).
int client_hello_cb(SSL* ssl, int* al, void* /*arg*/) {
  HandshakeState* st = state_of(ssl);
  if (st == nullptr) return SSL_CLIENT_HELLO_SUCCESS;
  if (st->alert != 0) {
    st->fired = true;
    *al = st->alert;
    return SSL_CLIENT_HELLO_ERROR;
  }
  const bool must = st->given || st->bad || st->rt->mint_always;
  if (!must) return SSL_CLIENT_HELLO_SUCCESS;
  const auto ck = substitute(ssl, *st);
  // Replace, not add: an EC substitute beside a configured RSA certificate would only fill
  // another slot, so a client preferring RSA signatures would get the real certificate (found in
  // review). With a CA and no certificate the context's is the CA's, never served.
  SSL_certs_clear(ssl);
  if (!ck || !ck->cert || !ck->key || SSL_use_certificate(ssl, ck->cert.get()) != 1 ||
      SSL_use_PrivateKey(ssl, ck->key.get()) != 1 ||
      (ck->chain && SSL_set1_chain(ssl, ck->chain.get()) != 1)) {
    ERR_clear_error();
    *al = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

// The configured certificate and key, from the context built from them: the files are read once.
CertAndKey configured(SSL_CTX* ctx) {
  CertAndKey ck;
  if (X509* x = SSL_CTX_get0_certificate(ctx); x && X509_up_ref(x) == 1)
    ck.cert = std::shared_ptr<X509>(x, X509_free);
  if (EVP_PKEY* k = SSL_CTX_get0_privatekey(ctx); k && EVP_PKEY_up_ref(k) == 1)
    ck.key = std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free);
  STACK_OF(X509)* chain = nullptr;
  if (SSL_CTX_get0_chain_certs(ctx, &chain) == 1 && chain && sk_X509_num(chain) > 0)
    ck.chain = share_chain(chain);
  return ck;
}

// "" when `file` is a regular file of at most kMaxTlsFileBytes, else why not. stat(2) opens
// nothing, so a FIFO (whose open blocks until a writer comes), a device (/dev/zero never ends) or
// a directory is refused before common/tls.cpp reads the file.
std::string check_tls_file(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0)
    return fmt::format("cannot read {}: {}", file, std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    return fmt::format("{} is not a regular file (a FIFO, device or directory is not read)", file);
  if (static_cast<std::uint64_t>(st.st_size) > kMaxTlsFileBytes)
    return fmt::format("{} has {} bytes, over the limit of {} for a certificate or key file", file,
                       st.st_size, kMaxTlsFileBytes);
  return "";
}

// Checks every file named in `files` (field, path); errors at `<path>.<field>`.
bool check_tls_files(std::initializer_list<std::pair<const char*, const std::string*>> files,
                     const std::string& path, ConfigErrors& errors) {
  bool ok = true;
  for (const auto& [field, file] : files) {
    if (file->empty()) continue;
    if (auto why = check_tls_file(*file); !why.empty()) {
      errors.add(path_join(path, field), why);
      ok = false;
    }
  }
  return ok;
}

// The substitute certificates, from the configured certificate and key (see derive_bad_certs).
bool make_bad_certs(TlsRuntime& rt) {
  return derive_bad_certs(configured(rt.server->native_handle()), rt.bad);
}

}  // namespace

bool valid_sni(std::string_view name) {
  if (name.empty() || name.size() > kMaxSniBytes) return false;
  // An IP literal is accepted as the name to verify (it is then not sent as SNI).
  error_code ec;
  (void)asio::ip::make_address(std::string(name), ec);
  if (!ec) return true;
  if (name.back() == '.') name.remove_suffix(1);  // a fully qualified name's root dot
  if (name.empty() || name.size() > 253) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      // 1 to 63 characters, no hyphen at either end (RFC 1123 2.1).
      if (label == 0 || label > 63 || name[i - 1] == '-' || name[i - label] == '-') return false;
      label = 0;
      continue;
    }
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';  // '_': service and container names use it
    if (!ok) return false;
    ++label;
  }
  return true;
}

std::string_view to_string(BadCert b) {
  switch (b) {
    case BadCert::expired:
      return "expired";
    case BadCert::wrong_host:
      return "wrong_host";
    case BadCert::self_signed:
      return "self_signed";
  }
  return "expired";
}

std::optional<BadCert> parse_bad_cert(std::string_view s) {
  if (s == "expired") return BadCert::expired;
  if (s == "wrong_host") return BadCert::wrong_host;
  if (s == "self_signed") return BadCert::self_signed;
  return std::nullopt;
}

std::optional<int> parse_alert(std::string_view name) {
  for (const auto& [n, code] : kAlerts)
    if (name == n) return code;
  return std::nullopt;
}

std::string alert_names() {
  std::string out;
  for (const auto& [n, code] : kAlerts) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

json tls_json(const TlsSettings& s) {
  json j = json::object();
  if (!s.cert.empty()) j["cert"] = s.cert;
  if (!s.key.empty()) j["key"] = s.key;
  if (!s.client_ca.empty()) j["client_ca"] = s.client_ca;
  if (s.mints()) j["ca"] = {{"cert", s.ca_cert}, {"key", s.ca_key}};
  return j;
}

json tls_json(const UpstreamTlsSettings& s) {
  json j{{"verify", s.verify}};
  if (!s.ca.empty()) j["ca"] = s.ca;
  if (!s.sni.empty()) j["sni"] = s.sni;
  if (!s.cert.empty()) j["cert"] = s.cert;
  if (!s.key.empty()) j["key"] = s.key;
  return j;
}

std::optional<TlsSettings> parse_tls(const json& v, const std::string& path, ConfigErrors& errors) {
  const std::size_t before = errors.list().size();
  if (!v.is_object()) {
    errors.add(path,
               "must be an object like {\"cert\": PATH, \"key\": PATH} or "
               "{\"ca\": {\"cert\": PATH, \"key\": PATH}}");
    return std::nullopt;
  }
  reject_unknown_keys(v, path, {"cert", "key", "client_ca", "ca"}, errors);
  TlsSettings s;
  const auto file = [&errors](const json& obj, const std::string& at, const char* key,
                              bool required, std::string& out) {
    if (auto f = get_string(obj, at, key, errors, required)) {
      if (f->empty())
        errors.add(path_join(at, key), "must be a file name");
      else
        out = *f;
    }
  };
  bool ca_given = false;
  if (auto it = v.find("ca"); it != v.end()) {
    ca_given = true;
    const std::string cpath = path_join(path, "ca");
    if (!it->is_object()) {
      errors.add(cpath,
                 "must be an object like {\"cert\": PATH, \"key\": PATH} (a CA that "
                 "mints the certificates)");
    } else {
      reject_unknown_keys(*it, cpath, {"cert", "key"}, errors);
      file(*it, cpath, "cert", true, s.ca_cert);
      file(*it, cpath, "key", true, s.ca_key);
    }
  }
  // With a CA the certificate is optional (both or neither); without one it is required.
  const auto given = [&v](const char* key) {
    auto it = v.find(key);
    return it != v.end() && !it->is_null();
  };
  const bool cert_given = given("cert") || given("key");
  file(v, path, "cert", !ca_given || cert_given, s.cert);
  file(v, path, "key", !ca_given || cert_given, s.key);
  file(v, path, "client_ca", false, s.client_ca);
  if (errors.list().size() != before) return std::nullopt;
  return s;
}

std::optional<UpstreamTlsSettings> parse_upstream_tls(const json& v, const std::string& path,
                                                      ConfigErrors& errors) {
  const std::size_t before = errors.list().size();
  if (!v.is_object()) {
    errors.add(path, "must be an object like {\"ca\": PATH} or {\"verify\": false}");
    return std::nullopt;
  }
  reject_unknown_keys(v, path, {"ca", "verify", "sni", "cert", "key"}, errors);
  UpstreamTlsSettings s;
  if (auto b = get_bool(v, path, "verify", errors)) s.verify = *b;
  for (auto [key, field] : {std::pair{"ca", &s.ca}, std::pair{"sni", &s.sni},
                            std::pair{"cert", &s.cert}, std::pair{"key", &s.key}}) {
    if (auto f = get_string(v, path, key, errors)) {
      if (f->empty())
        errors.add(path_join(path, key), "must not be empty (leave it out instead)");
      else
        *field = *f;
    }
  }
  if (!s.sni.empty() && !valid_sni(s.sni)) {
    // The name as JSON (escaped), cut short: it may hold a NUL or be hundreds of bytes long.
    std::string shown =
        json(s.sni.substr(0, 64)).dump(-1, ' ', false, json::error_handler_t::replace);
    if (s.sni.size() > 64) shown += fmt::format(" (... {} bytes)", s.sni.size());
    errors.add(path_join(path, "sni"),
               fmt::format("must be a DNS name (labels of letters, digits, '-' and '_', at most 63 "
                           "characters each, {} in all) or an IP address, got {}",
                           253, shown));
  }
  if (s.cert.empty() != s.key.empty())
    errors.add(path_join(path, s.cert.empty() ? "cert" : "key"),
               "a client certificate needs both \"cert\" and \"key\"");
  if (!s.verify && !s.ca.empty())
    errors.add(path_join(path, "ca"),
               "\"verify\": false checks no certificate: drop \"ca\" or verify against it");
  if (errors.list().size() != before) return std::nullopt;
  return s;
}

std::shared_ptr<const TlsRuntime> build_tls_runtime(const std::optional<TlsSettings>& server,
                                                    const std::optional<UpstreamTlsSettings>& up,
                                                    const std::string& path, ConfigErrors& errors) {
  if (!server && !up) return nullptr;
  const tls::PemFiles* files = ReadAheadFiles::current();
  auto rt = std::make_shared<TlsRuntime>();
  bool ok = true;
  if (server) {
    const std::string spath = path_join(path, "tls");
    // Read ahead, the files were checked on their descriptors by tls::read_pem_file.
    if (files == nullptr && !check_tls_files({{"cert", &server->cert},
                                              {"key", &server->key},
                                              {"client_ca", &server->client_ca},
                                              {"ca.cert", &server->ca_cert},
                                              {"ca.key", &server->ca_key}},
                                             spath, errors))
      return nullptr;
    if (server->mints()) {
      // The CA's certificate and key, parsed and matched as a server's are; without a configured
      // certificate this context is the proxy's, its certificate replaced in every handshake.
      auto r = tls::make_server_context(
          tls::ServerConfig{server->ca_cert, server->ca_key,
                            server->cert.empty() ? server->client_ca : std::string()},
          {"http/1.1"}, files);
      const std::string field = r.field == "cert" || r.field == "key" ? "ca." + r.field : r.field;
      if (!r.ok()) {
        errors.add(path_join(spath, field), r.error);
        return nullptr;
      }
      const CertAndKey ca = configured(r.context->native_handle());
      if (auto why = ca_certificate_problem(ca.cert.get()); !why.empty()) {
        errors.add(path_join(spath, "ca.cert"), fmt::format("{} {}", server->ca_cert, why));
        return nullptr;
      }
      std::string why;
      rt->minter = CertMinter::create(ca, why);
      if (!rt->minter) {
        errors.add(path_join(spath, "ca.cert"), why);
        return nullptr;
      }
      if (server->cert.empty()) {
        rt->server = r.context;
        rt->mint_always = true;
        SSL_CTX_set_client_hello_cb(rt->server->native_handle(), client_hello_cb, nullptr);
      }
    }
    if (!server->cert.empty()) {
      auto r = tls::make_server_context(
          tls::ServerConfig{server->cert, server->key, server->client_ca}, {"http/1.1"}, files);
      if (!r.ok()) {
        errors.add(path_join(spath, r.field), r.error);
        ok = false;
      } else {
        rt->server = r.context;
        SSL_CTX_set_client_hello_cb(rt->server->native_handle(), client_hello_cb, nullptr);
        if (!make_bad_certs(*rt)) {
          errors.add(path_join(spath, "cert"),
                     "cannot derive the certificate-chaos certificates from it");
          ok = false;
        }
      }
    }
  }
  if (up) {
    if (files == nullptr &&
        !check_tls_files({{"ca", &up->ca}, {"cert", &up->cert}, {"key", &up->key}},
                         path_join(path, "upstream_tls"), errors))
      return nullptr;
    rt->client_config = tls::ClientConfig{up->ca, up->verify, up->sni, up->cert, up->key};
    auto r = tls::make_client_context(rt->client_config, {}, files);
    if (!r.ok()) {
      errors.add(path_join(path_join(path, "upstream_tls"), r.field), r.error);
      ok = false;
    } else {
      rt->client = r.context;
    }
  }
  if (!ok) return nullptr;
  return rt;
}

void arm_server_chaos(SSL* ssl, const TlsRuntime& rt, const HandshakeFault& fault,
                      const boost::asio::ip::address& local, const ProxyCounters& counters) {
  auto st = std::make_unique<HandshakeState>();
  st->rt = &rt;
  st->alert = fault.alert;
  st->bad = fault.bad_cert;
  st->given = fault.given_cert;
  // A v4 client on a dual-stack socket connected to the v4 address, not to its mapped form.
  st->local = local.is_v6() && local.to_v6().is_v4_mapped()
                  ? asio::ip::make_address_v4(asio::ip::v4_mapped, local.to_v6()).to_string()
                  : local.to_string();
  st->minted = counters.certs_minted;
  st->cache_entries = counters.cert_cache_entries;
  delete state_of(ssl);
  if (SSL_set_ex_data(ssl, state_index(), st.get()) == 1) st.release();
}

bool failed_by_chaos(SSL* ssl) {
  const HandshakeState* st = state_of(ssl);
  return st != nullptr && st->fired;
}

std::string sni_from_extension(const unsigned char* ext, std::size_t size) {
  // ServerNameList (RFC 6066 3): a 2-byte length, then entries of a 1-byte type, a 2-byte length
  // and the name. Every length is checked against what is left.
  if (ext == nullptr || size < 2) return "";
  const std::size_t list = (std::size_t{ext[0]} << 8) | ext[1];
  if (list != size - 2) return "";
  std::size_t at = 2;
  while (size - at >= 3) {
    const unsigned type = ext[at];
    const std::size_t len = (std::size_t{ext[at + 1]} << 8) | ext[at + 2];
    at += 3;
    if (len > size - at) return "";
    if (type == 0) {  // host_name: the first one is the name
      if (len == 0 || len > kMaxSniBytes) return "";
      std::string name(reinterpret_cast<const char*>(ext + at), len);
      if (!valid_sni(name)) return "";
      if (name.back() == '.') name.pop_back();
      for (char& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return name;
    }
    at += len;
  }
  return "";
}

namespace {
thread_local const tls::PemFiles* read_ahead_files = nullptr;
}  // namespace

ReadAheadFiles::ReadAheadFiles(const tls::PemFiles* files) : previous_(read_ahead_files) {
  read_ahead_files = files;
}

ReadAheadFiles::~ReadAheadFiles() {
  read_ahead_files = previous_;
}

const tls::PemFiles* ReadAheadFiles::current() {
  return read_ahead_files;
}

std::shared_ptr<const CertAndKey> load_cert_and_key(const std::string& cert, const std::string& key,
                                                    const std::string& path, ConfigErrors& errors) {
  const tls::PemFiles* files = ReadAheadFiles::current();
  if (files == nullptr && !check_tls_files({{"cert", &cert}, {"key", &key}}, path, errors))
    return nullptr;
  // Parsed and matched as a server's certificate is: the same errors, the same rules.
  auto r = tls::make_server_context(tls::ServerConfig{cert, key, ""}, {}, files);
  if (!r.ok()) {
    errors.add(path_join(path, r.field), r.error);
    return nullptr;
  }
  auto ck = std::make_shared<CertAndKey>(configured(r.context->native_handle()));
  if (!ck->cert || !ck->key) {
    errors.add(path_join(path, "cert"), fmt::format("cannot use the certificate in {}", cert));
    return nullptr;
  }
  return ck;
}

}  // namespace faultline::proxy
