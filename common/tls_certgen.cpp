// Throw-away PKI with OpenSSL 3's C API: EC P-256 keys, SHA-256 signatures, X.509 v3 extensions
// written the way `openssl req -x509` / `openssl x509 -req` with an extension file would.
#include "common/tls_certgen.hpp"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/tls.hpp"

namespace faultline::tls {
namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

struct Issued {
  X509Ptr cert{nullptr, &X509_free};
  PkeyPtr key{nullptr, &EVP_PKEY_free};
};

struct Extension {
  int nid;
  const char* value;
};

bool set_random_serial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return false;
  bytes[0] &= 0x7f;  // positive
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(BN_bin2bn(bytes, sizeof bytes, nullptr), &BN_free);
  return bn && BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr;
}

// A certificate for `common_name` signed by `issuer` (self-signed when issuer is null).
Issued issue(const std::string& common_name, const std::vector<Extension>& extensions,
             const Issued* issuer, std::chrono::hours validity, std::string& error) {
  Issued out;
  out.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  out.cert.reset(X509_new());
  if (!out.key || !out.cert) {
    error = fmt::format("cannot create a key for {}: {}", common_name, take_openssl_error());
    return {};
  }
  X509* cert = out.cert.get();
  X509_NAME* name = X509_get_subject_name(cert);
  const bool built =
      X509_set_version(cert, 2) == 1 && set_random_serial(cert) &&
      X509_gmtime_adj(X509_getm_notBefore(cert), -3600) != nullptr &&
      X509_gmtime_adj(X509_getm_notAfter(cert),
                      std::chrono::duration_cast<std::chrono::seconds>(validity).count()) !=
          nullptr &&
      X509_set_pubkey(cert, out.key.get()) == 1 &&
      X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("faultline test"), -1, -1,
                                 0) == 1 &&
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) == 1 &&
      X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer->cert.get()) : name) == 1;
  if (!built) {
    error =
        fmt::format("cannot build the certificate for {}: {}", common_name, take_openssl_error());
    return {};
  }
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer->cert.get() : cert, cert, nullptr, nullptr, 0);
  for (const auto& e : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, e.nid, e.value);
    const bool added = ext != nullptr && X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    if (!added) {
      error = fmt::format("cannot add extension {} to {}: {}", e.value, common_name,
                          take_openssl_error());
      return {};
    }
  }
  if (X509_sign(cert, issuer ? issuer->key.get() : out.key.get(), EVP_sha256()) == 0) {
    error =
        fmt::format("cannot sign the certificate for {}: {}", common_name, take_openssl_error());
    return {};
  }
  return out;
}

bool write_pem(const Issued& issued, const std::filesystem::path& cert_path,
               const std::filesystem::path& key_path, std::string& error) {
  std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(BIO_new_file(cert_path.c_str(), "w"),
                                                     &BIO_free);
  if (!cert_bio || PEM_write_bio_X509(cert_bio.get(), issued.cert.get()) != 1) {
    error = fmt::format("cannot write {}: {}", cert_path.string(), take_openssl_error());
    return false;
  }
  // The key file is created private (0600, O_EXCL after removing any old one, no symlink
  // followed): a chmod after creation would leave a window in which another local user could open
  // it and read the key once written (found in review).
  std::error_code ec;
  std::filesystem::remove(key_path, ec);
  ec.clear();
  const int fd =
      ::open(key_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) ec = std::error_code(errno, std::generic_category());
  std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(fd >= 0 ? BIO_new_fd(fd, BIO_CLOSE) : nullptr,
                                                    &BIO_free);
  if (fd >= 0 && !key_bio) ::close(fd);
  if (!key_bio || ec ||
      PEM_write_bio_PrivateKey(key_bio.get(), issued.key.get(), nullptr, nullptr, 0, nullptr,
                               nullptr) != 1) {
    error = fmt::format("cannot write {}: {}", key_path.string(),
                        ec ? ec.message() : take_openssl_error());
    return false;
  }
  return true;
}

}  // namespace

PkiResult write_throwaway_pki(const std::filesystem::path& dir, std::chrono::hours validity) {
  PkiResult result;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    result.error = fmt::format("cannot create {}: {}", dir.string(), ec.message());
    return result;
  }
  PkiFiles& f = result.files;
  f.ca_cert = dir / "ca.pem";
  f.ca_key = dir / "ca.key";
  f.server_cert = dir / "server.pem";
  f.server_key = dir / "server.key";
  f.client_cert = dir / "client.pem";
  f.client_key = dir / "client.key";

  std::string& error = result.error;
  const Issued ca = issue("faultline test CA",
                          {{NID_basic_constraints, "critical,CA:TRUE"},
                           {NID_key_usage, "critical,keyCertSign,cRLSign"},
                           {NID_subject_key_identifier, "hash"}},
                          nullptr, validity, error);
  if (!error.empty()) return result;
  const Issued server = issue("localhost",
                              {{NID_basic_constraints, "critical,CA:FALSE"},
                               {NID_key_usage, "critical,digitalSignature"},
                               {NID_ext_key_usage, "serverAuth"},
                               {NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"},
                               {NID_subject_key_identifier, "hash"},
                               {NID_authority_key_identifier, "keyid"}},
                              &ca, validity, error);
  if (!error.empty()) return result;
  const Issued client = issue("faultline test client",
                              {{NID_basic_constraints, "critical,CA:FALSE"},
                               {NID_key_usage, "critical,digitalSignature"},
                               {NID_ext_key_usage, "clientAuth"},
                               {NID_subject_key_identifier, "hash"},
                               {NID_authority_key_identifier, "keyid"}},
                              &ca, validity, error);
  if (!error.empty()) return result;
  if (!write_pem(ca, f.ca_cert, f.ca_key, error) ||
      !write_pem(server, f.server_cert, f.server_key, error) ||
      !write_pem(client, f.client_cert, f.client_key, error)) {
    return result;
  }
  return result;
}

}  // namespace faultline::tls
