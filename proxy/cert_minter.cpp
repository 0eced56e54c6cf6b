// Certificates the proxy makes: chaos substitutes and leafs minted by its CA (see cert_minter.hpp).
#include "proxy/cert_minter.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace faultline::proxy {

namespace {

constexpr long kHour = 3600;
constexpr long kDay = 24 * kHour;
constexpr const char* kWrongHost = "wrong-host.invalid";

// The cache key: the variant, then the name (lower case: DNS names compare without case).
std::string cache_key(std::string_view name, std::optional<BadCert> variant) {
  std::string key = variant ? std::to_string(static_cast<int>(*variant) + 1) : "0";
  key += ':';
  if (variant == BadCert::wrong_host) return key;  // one certificate whatever the name
  for (const char c : name)
    key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

// Seconds from now until `t` (negative when past); nullopt when OpenSSL cannot tell.
std::optional<long> seconds_until(const ASN1_TIME* t) {
  int days = 0, secs = 0;
  if (ASN1_TIME_diff(&days, &secs, nullptr, t) != 1) return std::nullopt;
  return static_cast<long>(days) * kDay + secs;
}

bool add_conf_ext(X509* x, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return false;
  const bool ok = X509_add_ext(x, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// subjectAltName with the one name `name`: an IP address for an IP literal, else a DNS name.
bool add_san(X509* x, const std::string& name, bool critical) {
  std::shared_ptr<GENERAL_NAMES> names(GENERAL_NAMES_new(), GENERAL_NAMES_free);
  GENERAL_NAME* gn = GENERAL_NAME_new();
  if (!names || !gn) {
    GENERAL_NAME_free(gn);
    return false;
  }
  if (ASN1_OCTET_STRING* ip = a2i_IPADDRESS(name.c_str())) {
    GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
  } else {
    ERR_clear_error();
    ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
    if (!dns || ASN1_STRING_set(dns, name.data(), static_cast<int>(name.size())) != 1) {
      ASN1_IA5STRING_free(dns);
      GENERAL_NAME_free(gn);
      return false;
    }
    GENERAL_NAME_set0_value(gn, GEN_DNS, dns);
  }
  if (sk_GENERAL_NAME_push(names.get(), gn) == 0) {
    GENERAL_NAME_free(gn);
    return false;
  }
  return X509_add1_ext_i2d(x, NID_subject_alt_name, names.get(), critical ? 1 : 0,
                           X509V3_ADD_DEFAULT) == 1;
}

bool random_serial(X509* x) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return false;
  bytes[0] &= 0x7f;  // positive, at most 127 bits (RFC 5280: 20 octets)
  bytes[0] |= 0x40;  // and never 0
  std::shared_ptr<BIGNUM> bn(BN_bin2bn(bytes, sizeof bytes, nullptr), BN_free);
  return bn && BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x)) != nullptr;
}

const EVP_MD* digest_for(EVP_PKEY* signer) {
  // Ed25519/Ed448 sign without a separate digest.
  const int id = EVP_PKEY_get_id(signer);
  if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) return nullptr;
  // Fetched once: EVP_sha256() makes OpenSSL 3 look the implementation up at every signature.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return sha256 != nullptr ? sha256 : EVP_sha256();
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

}  // namespace

bool derive_bad_certs(const CertAndKey& mine, std::array<CertAndKey, kBadCerts>& bad) {
  const auto& cert = mine.cert;
  const auto& key = mine.key;
  if (!cert || !key) return false;
  const X509_NAME* subject = X509_get_subject_name(cert.get());
  const X509_NAME* issuer = X509_get_issuer_name(cert.get());
  // The configured certificate's issuer's key identifier: its own when it is self-issued.
  const bool self_issued = X509_NAME_cmp(subject, issuer) == 0;
  const ASN1_OCTET_STRING* issuer_key_id =
      self_issued ? X509_get0_subject_key_id(cert.get()) : X509_get0_authority_key_id(cert.get());
  auto& expired = bad[static_cast<std::size_t>(BadCert::expired)];
  expired.key = key;
  expired.cert = make_cert(cert.get(), key.get(), subject, issuer, issuer_key_id, key.get(),
                           -30 * kDay, -kDay, "");
  std::shared_ptr<X509_NAME> wrong(X509_NAME_new(), X509_NAME_free);
  X509_NAME_add_entry_by_txt(wrong.get(), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("wrong-host.invalid"), -1, -1,
                             0);
  auto& wrong_host = bad[static_cast<std::size_t>(BadCert::wrong_host)];
  wrong_host.key = key;
  wrong_host.cert = make_cert(cert.get(), key.get(), wrong.get(), issuer, issuer_key_id, key.get(),
                              -kDay, 30 * kDay, "DNS:wrong-host.invalid");
  auto& self_signed = bad[static_cast<std::size_t>(BadCert::self_signed)];
  self_signed.key = fresh_ec_key();
  if (self_signed.key)
    self_signed.cert = make_cert(cert.get(), self_signed.key.get(), subject, subject, nullptr,
                                 self_signed.key.get(), -kDay, 30 * kDay, "");
  for (const auto& b : bad)
    if (!b.cert || !b.key) return false;
  return true;
}

std::shared_ptr<STACK_OF(X509)> share_chain(const STACK_OF(X509) * chain) {
  if (!chain) return nullptr;
  STACK_OF(X509)* copy = X509_chain_up_ref(const_cast<STACK_OF(X509)*>(chain));
  if (!copy) return nullptr;
  return std::shared_ptr<STACK_OF(X509)>(
      copy, [](STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); });
}

std::string ca_certificate_problem(X509* ca) {
  // X509_get_extension_flags computes the cached extension flags first.
  const std::uint32_t flags = X509_get_extension_flags(ca);
  if ((flags & EXFLAG_INVALID) != 0) return "has an extension that does not parse";
  if ((flags & EXFLAG_CA) == 0)
    return "is not a CA certificate (it needs basicConstraints CA:TRUE to sign leaf certificates)";
  if ((flags & EXFLAG_KUSAGE) != 0 && (X509_get_key_usage(ca) & KU_KEY_CERT_SIGN) == 0)
    return "is not a CA certificate for leafs: its key usage lacks keyCertSign";
  if (auto left = seconds_until(X509_get0_notAfter(ca)); left && *left <= 0)
    return "has expired: a leaf it signs would not verify";
  return "";
}

std::shared_ptr<CertMinter> CertMinter::create(const CertAndKey& ca, std::string& error) {
  std::shared_ptr<EVP_PKEY> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  if (!key || !ca.cert || !ca.key) {
    error = "cannot make the key of the minted certificates";
    return nullptr;
  }
  return std::make_shared<CertMinter>(ca, std::move(key));
}

CertMinter::CertMinter(const CertAndKey& ca, std::shared_ptr<EVP_PKEY> leaf_key)
    : ca_(ca), leaf_key_(std::move(leaf_key)) {
  STACK_OF(X509)* chain = sk_X509_new_null();
  if (chain && X509_up_ref(ca_.cert.get()) == 1 && sk_X509_push(chain, ca_.cert.get()) == 0)
    X509_free(ca_.cert.get());
  if (chain && ca_.chain)
    for (int i = 0; i < sk_X509_num(ca_.chain.get()); ++i) {
      X509* c = sk_X509_value(ca_.chain.get(), i);
      if (X509_up_ref(c) == 1 && sk_X509_push(chain, c) == 0) X509_free(c);
    }
  if (chain)
    leaf_chain_ = std::shared_ptr<STACK_OF(X509)>(
        chain, [](STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); });
}

std::size_t CertMinter::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

CertMinter::Leaf CertMinter::leaf(std::string_view name, std::optional<BadCert> variant) {
  const std::string key = cache_key(name, variant);
  {
    std::lock_guard lock(mu_);
    if (auto it = index_.find(key); it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return {it->second->second, false};
    }
  }
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto minted = mint(lower, variant);
  if (!minted) return {};
  std::lock_guard lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) {
    // Minted meanwhile by another handshake: keep one.
    lru_.splice(lru_.begin(), lru_, it->second);
    return {it->second->second, true};
  }
  lru_.emplace_front(key, minted);
  index_.emplace(key, lru_.begin());
  if (lru_.size() > kCapacity) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return {std::move(minted), true};
}

std::shared_ptr<const CertAndKey> CertMinter::mint(const std::string& name,
                                                   std::optional<BadCert> variant) const {
  const bool self_signed = variant == BadCert::self_signed;
  const std::string subject_name = variant == BadCert::wrong_host ? kWrongHost : name;
  std::shared_ptr<X509> x(X509_new(), X509_free);
  if (!x || !random_serial(x.get()) || X509_set_version(x.get(), 2) != 1) return nullptr;

  // CN only when it fits (64 characters, X.520's upper bound); without a subject the SAN is
  // critical (RFC 5280 4.2.1.6).
  std::shared_ptr<X509_NAME> subject(X509_NAME_new(), X509_NAME_free);
  if (!subject) return nullptr;
  const bool cn = !subject_name.empty() && subject_name.size() <= 64;
  if (cn && X509_NAME_add_entry_by_txt(subject.get(), "CN", MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>(subject_name.c_str()),
                                       -1, -1, 0) != 1)
    return nullptr;
  X509_set_subject_name(x.get(), subject.get());
  X509_set_issuer_name(x.get(),
                       self_signed ? subject.get() : X509_get_subject_name(ca_.cert.get()));

  long from = -kHour, to = 30 * kDay;
  if (variant == BadCert::expired) {
    from = -30 * kDay;
    to = -kDay;
  } else if (!self_signed) {
    // Never past the CA's own end (a verifier would not refuse it for that, but a leaf that
    // outlives its issuer is a lie).
    if (auto left = seconds_until(X509_get0_notAfter(ca_.cert.get())); left && *left < to)
      to = std::max(*left, from + 1);
  }
  if (!X509_gmtime_adj(X509_getm_notBefore(x.get()), from) ||
      !X509_gmtime_adj(X509_getm_notAfter(x.get()), to) ||
      X509_set_pubkey(x.get(), leaf_key_.get()) != 1)
    return nullptr;

  X509* issuer = self_signed ? x.get() : ca_.cert.get();
  if (!add_conf_ext(x.get(), issuer, NID_basic_constraints, "critical,CA:FALSE") ||
      !add_conf_ext(x.get(), issuer, NID_key_usage, "critical,digitalSignature") ||
      !add_conf_ext(x.get(), issuer, NID_ext_key_usage, "serverAuth") ||
      !add_san(x.get(), subject_name, !cn) ||
      !add_conf_ext(x.get(), issuer, NID_subject_key_identifier, "hash"))
    return nullptr;
  // The CA's key identifier (when it has one): chain building finds the issuer by it.
  if (!self_signed && X509_get0_subject_key_id(ca_.cert.get()) != nullptr &&
      !add_conf_ext(x.get(), issuer, NID_authority_key_identifier, "keyid"))
    return nullptr;
  ERR_clear_error();

  EVP_PKEY* signer = self_signed ? leaf_key_.get() : ca_.key.get();
  if (X509_sign(x.get(), signer, digest_for(signer)) <= 0) {
    ERR_clear_error();
    return nullptr;
  }
  auto out = std::make_shared<CertAndKey>();
  out->cert = std::move(x);
  out->key = leaf_key_;
  if (!self_signed) out->chain = leaf_chain_;
  return out;
}

}  // namespace faultline::proxy
