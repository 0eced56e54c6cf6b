// The certificates a proxy makes itself: the certificate-chaos substitutes derived from its
// configured certificate (derive_bad_certs), and leafs minted on demand by a CA the proxy holds
// (`"tls": {"ca": {...}}`), after mitmproxy's model: one EC P-256 key per minter for every leaf, a
// random 127-bit serial, valid from an hour ago until min(now + 30 days, the CA's end), the name as
// the only subject alternative name (DNS, or IP for an IP literal) and as CN when it fits,
// CA:FALSE, digitalSignature, serverAuth, a subject key identifier and the CA's as authority key
// identifier; one CA signature per mint. The chain served after a leaf is the CA certificate and
// the certificates after it in the CA file.
//
// The certificate-chaos variants (`tls_bad_cert`): `expired` (the name, valid from 30 days ago
// until yesterday, CA-signed: a client trusting the CA reports exactly the expiry), `wrong_host`
// (only the name wrong-host.invalid, CA-signed: a name mismatch), `self_signed` (the name, signed
// with the leaf key itself, no chain).
//
// Minted leafs are cached per (name, variant): an LRU of at most kCapacity entries, guarded by a
// mutex. Minting runs outside the lock, so handshakes on other threads never wait for a signature
// (two handshakes for the same new name may both mint; the first stored is kept).
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <array>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "proxy/behavior.hpp"

namespace faultline::proxy {

// A certificate with its key and the chain sent after it, owned (freed with the last holder).
struct CertAndKey {
  std::shared_ptr<X509> cert;
  std::shared_ptr<EVP_PKEY> key;
  std::shared_ptr<STACK_OF(X509)> chain;  // null: none
};

// An owned copy of `chain` (each certificate's reference count raised); null for null.
std::shared_ptr<STACK_OF(X509)> share_chain(const STACK_OF(X509) * chain);

// The substitute certificates of `tls_bad_cert` from the configured certificate and key,
// without a CA: `expired` (valid from 30 days ago until yesterday) and `wrong_host` (only the name
// wrong-host.invalid) are issued in the configured certificate's issuer's name and signed with
// the configured key, so they chain where the configured certificate is itself the trust anchor;
// `self_signed` has a fresh EC P-256 key and the configured subject and names. False when OpenSSL
// fails.
bool derive_bad_certs(const CertAndKey& configured, std::array<CertAndKey, kBadCerts>& bad);

// "" when `ca` may sign leafs: basicConstraints CA:TRUE, keyCertSign when it has a key usage, and
// not expired; else why not, as a sentence without the file name ("is not a CA certificate ...").
std::string ca_certificate_problem(X509* ca);

class CertMinter {
 public:
  static constexpr std::size_t kCapacity = 1024;

  // `ca`: the CA certificate, its key, and the certificates after it in the CA file as `chain`.
  // Null with `error` set when the leaf key cannot be made.
  static std::shared_ptr<CertMinter> create(const CertAndKey& ca, std::string& error);

  struct Leaf {
    std::shared_ptr<const CertAndKey> cert;  // null: OpenSSL failed
    bool minted = false;                     // false: from the cache
  };
  // The leaf for `name` — a DNS name (compared without case) or an IP literal — as `variant`
  // (nullopt: a valid leaf).
  Leaf leaf(std::string_view name, std::optional<BadCert> variant);

  // Leafs in the cache now.
  std::size_t size() const;

  CertMinter(const CertAndKey& ca, std::shared_ptr<EVP_PKEY> leaf_key);

 private:
  std::shared_ptr<const CertAndKey> mint(const std::string& name,
                                         std::optional<BadCert> variant) const;

  CertAndKey ca_;
  std::shared_ptr<EVP_PKEY> leaf_key_;
  std::shared_ptr<STACK_OF(X509)> leaf_chain_;  // the CA certificate, then ca_.chain

  using Entry = std::pair<std::string, std::shared_ptr<const CertAndKey>>;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace faultline::proxy
