// TLS contexts from PEM files. Files are read with stdio first so a missing or unreadable file is
// reported with errno's sentence, then parsed from memory with OpenSSL so a malformed one is told
// apart from an empty one.
#include "common/tls.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include <fmt/format.h>

namespace faultline::tls {
namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

// The context and the ALPN wire list its select callback points into share one lifetime.
struct ContextHolder {
  explicit ContextHolder(boost::asio::ssl::context::method method) : context(method) {}
  boost::asio::ssl::context context;
  std::string alpn_wire;
};

struct Failure {
  std::string field, error;
};

// A certificate, key or CA file: a regular file of at most 1 MiB, opened without blocking (a FIFO
// swapped in after a caller's check cannot stall the reader) and checked on the open descriptor.
// Whole file or an error sentence.
std::optional<std::string> read_from_disk(const std::string& path, std::string& error) {
  constexpr off_t kMaxBytes = 1 << 20;
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    error = fmt::format("cannot read {}: {}", path, std::strerror(errno));
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > kMaxBytes) {
    error = S_ISREG(st.st_mode) ? fmt::format("cannot read {}: larger than 1 MiB", path)
                                : fmt::format("cannot read {}: not a regular file", path);
    ::close(fd);
    return std::nullopt;
  }
  std::string content;
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = fmt::format("cannot read {}: {}", path, std::strerror(errno));
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
    if (content.size() > static_cast<std::size_t>(kMaxBytes)) {
      error = fmt::format("cannot read {}: larger than 1 MiB", path);
      ::close(fd);
      return std::nullopt;
    }
  }
  ::close(fd);
  return content;
}

// The file's content from `files` when the caller read it ahead (a path it did not read is an
// error, never a read here: the caller promised this thread does not touch the disk), else from
// disk.
std::optional<std::string> read_file(const std::string& path, const PemFiles* files,
                                     std::string& error) {
  if (files == nullptr) return read_from_disk(path, error);
  auto it = files->find(path);
  if (it == files->end()) {
    error = fmt::format("cannot read {}: it was not read ahead with the request", path);
    return std::nullopt;
  }
  if (!it->second.error.empty()) {
    error = it->second.error;
    return std::nullopt;
  }
  return it->second.content;
}

BioPtr memory_bio(const std::string& content) {
  return BioPtr(BIO_new_mem_buf(content.data(), static_cast<int>(content.size())), &BIO_free);
}

// Every certificate in a PEM file, in order; empty with `error` set when there is none.
std::vector<X509Ptr> read_certificates(const std::string& path, const PemFiles* files,
                                       std::string& error) {
  std::vector<X509Ptr> certs;
  const auto content = read_file(path, files, error);
  if (!content) return certs;
  auto bio = memory_bio(*content);
  ERR_clear_error();
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert, &X509_free);
  }
  // Reading stops with "no start line" at the end of the file; anything else is a malformed block.
  const unsigned long last = ERR_peek_last_error();
  const bool clean_end = last == 0 || (ERR_GET_LIB(last) == ERR_LIB_PEM &&
                                       ERR_GET_REASON(last) == PEM_R_NO_START_LINE);
  if (!clean_end) {
    error = fmt::format("cannot parse a certificate in {}: {}", path, take_openssl_error());
    certs.clear();
  } else if (certs.empty()) {
    error =
        fmt::format("no certificate in {} (a PEM \"BEGIN CERTIFICATE\" block is expected)", path);
  }
  ERR_clear_error();
  return certs;
}

PkeyPtr read_private_key(const std::string& path, const PemFiles* files, std::string& error) {
  const auto content = read_file(path, files, error);
  if (!content) return PkeyPtr(nullptr, &EVP_PKEY_free);
  auto bio = memory_bio(*content);
  ERR_clear_error();
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (!key) {
    const std::string why = take_openssl_error();
    error = content->find("-----BEGIN") == std::string::npos
                ? fmt::format(
                      "no private key in {} (a PEM \"BEGIN PRIVATE KEY\" block is expected)", path)
                : fmt::format("cannot parse the private key in {}: {}", path, why);
  }
  ERR_clear_error();
  return key;
}

// Loads a certificate chain and its key into `ctx`; checks that they belong together.
std::optional<Failure> use_cert_and_key(SSL_CTX* ctx, const std::string& cert_path,
                                        const std::string& key_path, const PemFiles* files) {
  std::string error;
  auto chain = read_certificates(cert_path, files, error);
  if (chain.empty()) return Failure{"cert", error};
  auto key = read_private_key(key_path, files, error);
  if (!key) return Failure{"key", error};
  if (SSL_CTX_use_certificate(ctx, chain.front().get()) != 1) {
    return Failure{"cert", fmt::format("cannot use the certificate in {}: {}", cert_path,
                                       take_openssl_error())};
  }
  for (std::size_t i = 1; i < chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1) {
      return Failure{"cert", fmt::format("cannot use chain certificate {} in {}: {}", i + 1,
                                         cert_path, take_openssl_error())};
    }
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return Failure{"key", fmt::format("key {} does not match cert {}", key_path, cert_path)};
  }
  return std::nullopt;
}

// Adds every certificate of a CA file to the context's trust store.
std::optional<Failure> trust_ca_file(SSL_CTX* ctx, const std::string& field,
                                     const std::string& path, const PemFiles* files) {
  std::string error;
  auto certs = read_certificates(path, files, error);
  if (certs.empty()) return Failure{field, error};
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (auto& cert : certs) {
    if (X509_STORE_add_cert(store, cert.get()) != 1) {
      return Failure{field, fmt::format("cannot trust a CA in {}: {}", path, take_openssl_error())};
    }
  }
  return std::nullopt;
}

std::optional<std::string> alpn_wire(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255) return std::nullopt;
    wire.push_back(static_cast<char>(p.size()));
    wire += p;
  }
  return wire;
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg) {
  const auto* wire = static_cast<const std::string*>(arg);
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, reinterpret_cast<const unsigned char*>(wire->data()),
                            static_cast<unsigned int>(wire->size()), in,
                            inlen) == OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;  // carry on without ALPN rather than fail the handshake
}

std::shared_ptr<ContextHolder> new_holder(boost::asio::ssl::context::method method) {
  auto holder = std::make_shared<ContextHolder>(method);
  SSL_CTX* ctx = holder->context.native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // Partial writes let Asio's write loop work with a moving buffer without a retry copy. Buffers
  // are kept between records (no SSL_MODE_RELEASE_BUFFERS): re-allocating them per exchange costs
  // more than the ~34 KiB they hold per connection.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return holder;
}

ContextResult fail(std::optional<Failure> failure) {
  ContextResult result;
  result.field = std::move(failure->field);
  result.error = std::move(failure->error);
  return result;
}

ContextResult succeed(const std::shared_ptr<ContextHolder>& holder) {
  ContextResult result;
  result.context = std::shared_ptr<boost::asio::ssl::context>(holder, &holder->context);
  return result;
}

bool is_ip_literal(std::string_view host) {
  const std::string h(host);
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, h.c_str(), buffer) == 1 || inet_pton(AF_INET6, h.c_str(), buffer) == 1;
}

}  // namespace

std::string take_openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return {};
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? std::string(reason) : fmt::format("OpenSSL error {:#x}", code);
}

PemFile read_pem_file(const std::string& path) {
  PemFile file;
  if (auto content = read_from_disk(path, file.error)) file.content = std::move(*content);
  return file;
}

ContextResult make_server_context(const ServerConfig& config, const std::vector<std::string>& alpn,
                                  const PemFiles* files) {
  if (config.cert.empty()) return fail(Failure{"cert", "a certificate file is required"});
  if (config.key.empty()) return fail(Failure{"key", "a private key file is required"});
  auto holder = new_holder(boost::asio::ssl::context::tls_server);
  SSL_CTX* ctx = holder->context.native_handle();
  if (auto failure = use_cert_and_key(ctx, config.cert, config.key, files)) return fail(failure);
  if (!config.client_ca.empty()) {
    if (auto failure = trust_ca_file(ctx, "client_ca", config.client_ca, files))
      return fail(failure);
    std::string error;
    auto certs = read_certificates(config.client_ca, files, error);
    STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
    for (auto& cert : certs)
      sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(cert.get())));
    SSL_CTX_set_client_CA_list(ctx, names);  // takes ownership
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  if (!alpn.empty()) {
    auto wire = alpn_wire(alpn);
    if (!wire) return fail(Failure{"alpn", "protocol names must be 1-255 bytes"});
    holder->alpn_wire = std::move(*wire);
    SSL_CTX_set_alpn_select_cb(ctx, &select_alpn, &holder->alpn_wire);
  }
  return succeed(holder);
}

ContextResult make_client_context(const ClientConfig& config, const std::vector<std::string>& alpn,
                                  const PemFiles* files) {
  auto holder = new_holder(boost::asio::ssl::context::tls_client);
  SSL_CTX* ctx = holder->context.native_handle();
  if (config.verify) {
    if (!config.ca.empty()) {
      if (auto failure = trust_ca_file(ctx, "ca", config.ca, files)) return fail(failure);
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      return fail(Failure{
          "ca", fmt::format("cannot load the system trust store: {}", take_openssl_error())});
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (config.cert.empty() != config.key.empty()) {
    return fail(Failure{config.cert.empty() ? "cert" : "key",
                        "a client certificate needs both cert and key"});
  }
  if (!config.cert.empty()) {
    if (auto failure = use_cert_and_key(ctx, config.cert, config.key, files)) return fail(failure);
  }
  if (!alpn.empty()) {
    auto wire = alpn_wire(alpn);
    if (!wire) return fail(Failure{"alpn", "protocol names must be 1-255 bytes"});
    // Unlike most of OpenSSL, 0 means success here.
    if (SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire->data()),
                                static_cast<unsigned int>(wire->size())) != 0) {
      return fail(Failure{"alpn", "cannot set ALPN protocols"});
    }
  }
  return succeed(holder);
}

std::string prepare_client_ssl(SSL* ssl, const ClientConfig& config, std::string_view host) {
  const std::string name(config.sni.empty() ? host : std::string_view(config.sni));
  if (!is_ip_literal(name) && !name.empty()) {
    if (SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
      return fmt::format("cannot send SNI {}: {}", name, take_openssl_error());
    }
  }
  if (!config.verify || name.empty()) return {};
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const int ok = is_ip_literal(name) ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                                     : X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
  if (ok != 1) return fmt::format("cannot verify name {}: {}", name, take_openssl_error());
  return {};
}

std::string verify_failure(SSL* ssl) {
  const long result = SSL_get_verify_result(ssl);
  if (result == X509_V_OK) return {};
  return X509_verify_cert_error_string(result);
}

}  // namespace faultline::tls
