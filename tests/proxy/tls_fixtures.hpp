// Fixtures of the proxy's TLS tests: shell commands run to completion (curl, openssl s_client,
// redis-cli), nginx on a free loopback port (plain or `ssl`), a self-signed certificate made with
// the openssl CLI, and a blocking TLS client (Asio SSL) for byte-exact streams.
#pragma once

#include <memory>
#include <string>

#include <openssl/ssl.h>

#include "common/net.hpp"
#include "common/subprocess.hpp"
#include "tests/support/support.hpp"

namespace faultline::proxy::test {

// `sh -c CMD` with stderr merged into stdout: {exit code, output}.
struct ShResult {
  int code = -1;
  std::string out;
};
ShResult sh(const std::string& cmd,
            std::chrono::milliseconds timeout = std::chrono::milliseconds(20000));

// Whether `name` is on PATH.
bool have(const std::string& name);

// nginx answering every request with 200 "hello from nginx\n" on 127.0.0.1:<free port>, with TLS
// when cert/key are given. Ready when constructed (connect succeeds).
class Nginx {
 public:
  Nginx(const faultline::test::TempDir& dir, const std::string& cert = "",
        const std::string& key = "");
  unsigned short port() const noexcept { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  unsigned short port_ = 0;
  Subprocess process_;
};

// A self-signed certificate for localhost / 127.0.0.1 (EC P-256, valid for 2 days), in `dir`.
struct CertFiles {
  std::string cert, key;
};
CertFiles self_signed_cert(const faultline::test::TempDir& dir, const std::string& name);

// A blocking TLS client (OpenSSL on a blocking socket, verifying `ca` and the name localhost)
// with a 5 s receive timeout.
class TlsClient {
 public:
  TlsClient(unsigned short port, const std::string& ca);
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;
  bool handshake_ok() const noexcept { return ok_; }
  void write_all(const std::string& data);
  // Reads exactly n bytes (fewer on EOF, error or the 5 s timeout).
  std::string read_n(std::size_t n);
  // Reads until EOF (close_notify or TCP end) or error.
  std::string read_to_end();
  // Sends close_notify and shuts the TCP send side (a TLS half-close).
  void half_close();
  // The TLS record(s) that writing `data` would send, without sending them (for tests that
  // deliver a record in pieces with send_raw).
  std::string seal(const std::string& data);
  // Sends bytes on the TCP socket as they are.
  void send_raw(const std::string& bytes);

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool ok_ = false;
};

}  // namespace faultline::proxy::test
