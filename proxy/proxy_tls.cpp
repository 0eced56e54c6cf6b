// Proxy TLS settings, contexts and certificate-chaos certificates (see proxy_tls.hpp).
#include "proxy/proxy_tls.hpp"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

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

// Per-SSL slots: the alert a handshake must fail with, and whether it did.
int alert_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}
int fired_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Installed on every server context: fails the handshake in answer to the client hello (before
// any server hello) when the connection's tls_alert toxic asked for it.
int client_hello_cb(SSL* ssl, int* al, void* /*arg*/) {
  const auto alert = reinterpret_cast<std::intptr_t>(SSL_get_ex_data(ssl, alert_index()));
  if (alert == 0) return SSL_CLIENT_HELLO_SUCCESS;
  SSL_set_ex_data(ssl, fired_index(), reinterpret_cast<void*>(std::intptr_t{1}));
  *al = static_cast<int>(alert);
  return SSL_CLIENT_HELLO_ERROR;
}

// The configured certificate and key, from the context built from them: the files are read once.
CertAndKey configured(SSL_CTX* ctx) {
  CertAndKey ck;
  if (X509* x = SSL_CTX_get0_certificate(ctx); x && X509_up_ref(x) == 1)
    ck.cert = std::shared_ptr<X509>(x, X509_free);
  if (EVP_PKEY* k = SSL_CTX_get0_privatekey(ctx); k && EVP_PKEY_up_ref(k) == 1)
    ck.key = std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free);
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

// A certificate for `key` with `subject`, valid from now + `from` to now + `to` (seconds), the
// subject-alternative names `san` (OpenSSL config syntax; empty: copy `base`'s), issued by
// `issuer` (whose key identifier is `issuer_key_id`, when known) and signed with `signer`.
std::shared_ptr<X509> make_cert(X509* base, EVP_PKEY* key, const X509_NAME* subject,
                                const X509_NAME* issuer, const ASN1_OCTET_STRING* issuer_key_id,
                                EVP_PKEY* signer, long from, long to, const std::string& san) {
  std::shared_ptr<X509> x(X509_new(), X509_free);
  if (!x) return nullptr;
  std::uint64_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(x.get()), serial >> 1);
  X509_set_version(x.get(), 2);
  X509_set_subject_name(x.get(), subject);
  X509_set_issuer_name(x.get(), issuer);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), from);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), to);
  X509_set_pubkey(x.get(), key);
  if (issuer_key_id) {
    // A subject key identifier of its own and the issuer's as authority key identifier: with the
    // configured key but another identity, the certificate is not taken for a self-signed one
    // (which a verifier would reject as such before it looks at expiry) and chains to its issuer.
    unsigned char id[20];
    RAND_bytes(id, sizeof id);
    std::shared_ptr<ASN1_OCTET_STRING> skid(ASN1_OCTET_STRING_new(), ASN1_OCTET_STRING_free);
    ASN1_OCTET_STRING_set(skid.get(), id, sizeof id);
    X509_add1_ext_i2d(x.get(), NID_subject_key_identifier, skid.get(), 0, X509V3_ADD_DEFAULT);
    std::shared_ptr<AUTHORITY_KEYID> akid(AUTHORITY_KEYID_new(), AUTHORITY_KEYID_free);
    akid->keyid = ASN1_OCTET_STRING_dup(issuer_key_id);
    X509_add1_ext_i2d(x.get(), NID_authority_key_identifier, akid.get(), 0, X509V3_ADD_DEFAULT);
  }
  if (san.empty()) {
    const int i = X509_get_ext_by_NID(base, NID_subject_alt_name, -1);
    if (i >= 0) X509_add_ext(x.get(), X509_get_ext(base, i), -1);
  } else {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
    if (X509_EXTENSION* ext =
            X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str())) {
      X509_add_ext(x.get(), ext, -1);
      X509_EXTENSION_free(ext);
    }
  }
  // Ed25519/Ed448 sign without a separate digest.
  const int id = EVP_PKEY_get_id(signer);
  const EVP_MD* md = (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) ? nullptr : EVP_sha256();
  if (X509_sign(x.get(), signer, md) <= 0) return nullptr;
  return x;
}

std::shared_ptr<EVP_PKEY> fresh_ec_key() {
  return std::shared_ptr<EVP_PKEY>(EVP_EC_gen("P-256"), EVP_PKEY_free);
}

// The substitute certificates, from the configured certificate's subject and key: `expired`
// and `wrong_host` are issued in the configured certificate's issuer's name and signed with the
// configured key (so they chain where the configured certificate is itself the trust anchor);
// `self_signed` has a fresh key and the configured subject and names.
bool make_bad_certs(TlsRuntime& rt) {
  const CertAndKey mine = configured(rt.server->native_handle());
  const auto& cert = mine.cert;
  const auto& key = mine.key;
  if (!cert || !key) return false;
  constexpr long kDay = 24 * 3600;
  const X509_NAME* subject = X509_get_subject_name(cert.get());
  const X509_NAME* issuer = X509_get_issuer_name(cert.get());
  // The configured certificate's issuer's key identifier: its own when it is self-issued.
  const bool self_issued = X509_NAME_cmp(subject, issuer) == 0;
  const ASN1_OCTET_STRING* issuer_key_id =
      self_issued ? X509_get0_subject_key_id(cert.get()) : X509_get0_authority_key_id(cert.get());
  auto& expired = rt.bad[static_cast<std::size_t>(BadCert::expired)];
  expired.key = key;
  expired.cert = make_cert(cert.get(), key.get(), subject, issuer, issuer_key_id, key.get(),
                           -30 * kDay, -kDay, "");
  std::shared_ptr<X509_NAME> wrong(X509_NAME_new(), X509_NAME_free);
  X509_NAME_add_entry_by_txt(wrong.get(), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("wrong-host.invalid"), -1, -1,
                             0);
  auto& wrong_host = rt.bad[static_cast<std::size_t>(BadCert::wrong_host)];
  wrong_host.key = key;
  wrong_host.cert = make_cert(cert.get(), key.get(), wrong.get(), issuer, issuer_key_id, key.get(),
                              -kDay, 30 * kDay, "DNS:wrong-host.invalid");
  auto& self_signed = rt.bad[static_cast<std::size_t>(BadCert::self_signed)];
  self_signed.key = fresh_ec_key();
  if (self_signed.key)
    self_signed.cert = make_cert(cert.get(), self_signed.key.get(), subject, subject, nullptr,
                                 self_signed.key.get(), -kDay, 30 * kDay, "");
  for (const auto& b : rt.bad)
    if (!b.cert || !b.key) return false;
  return true;
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
  json j{{"cert", s.cert}, {"key", s.key}};
  if (!s.client_ca.empty()) j["client_ca"] = s.client_ca;
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
    errors.add(path, "must be an object like {\"cert\": PATH, \"key\": PATH}");
    return std::nullopt;
  }
  reject_unknown_keys(v, path, {"cert", "key", "client_ca"}, errors);
  TlsSettings s;
  for (auto [key, field] : {std::pair{"cert", &s.cert}, std::pair{"key", &s.key},
                            std::pair{"client_ca", &s.client_ca}}) {
    const bool required = std::string_view(key) != "client_ca";
    if (auto f = get_string(v, path, key, errors, required)) {
      if (f->empty())
        errors.add(path_join(path, key), "must be a file name");
      else
        *field = *f;
    }
  }
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
                                                    const std::string& path, ConfigErrors& errors,
                                                    const tls::PemFiles* files) {
  if (!server && !up) return nullptr;
  auto rt = std::make_shared<TlsRuntime>();
  bool ok = true;
  if (server) {
    const std::string spath = path_join(path, "tls");
    // Read ahead, the files were checked on their descriptors by tls::read_pem_file.
    if (files == nullptr &&
        !check_tls_files(
            {{"cert", &server->cert}, {"key", &server->key}, {"client_ca", &server->client_ca}},
            spath, errors))
      return nullptr;
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

void arm_server_chaos(SSL* ssl, const TlsRuntime& rt, int alert, std::optional<BadCert> bad) {
  if (alert != 0)
    SSL_set_ex_data(ssl, alert_index(), reinterpret_cast<void*>(std::intptr_t{alert}));
  if (bad) {
    const CertAndKey& ck = rt.bad[static_cast<std::size_t>(*bad)];
    // Replace, not add: the self-signed substitute has an EC key, and beside a configured RSA
    // certificate it would only fill another slot, so a client preferring RSA signatures would
    // get the real certificate (found in review).
    SSL_certs_clear(ssl);
    SSL_use_certificate(ssl, ck.cert.get());
    SSL_use_PrivateKey(ssl, ck.key.get());
  }
}

bool failed_by_chaos(SSL* ssl) {
  return SSL_get_ex_data(ssl, fired_index()) != nullptr;
}

}  // namespace faultline::proxy
