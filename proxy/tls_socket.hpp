// TLS for the byte-stream (tcp) engine: OpenSSL driven directly on the non-blocking socket's
// descriptor, with Asio readiness waits. The tcp engine reads and writes with non-blocking calls
// after a readiness wait (see tcp_connection.cpp); this keeps that shape for TLS (an SSL_read
// straight into the worker's buffer, no BIO pair copy), and gives a half-close that Asio's
// ssl::stream lacks: close_notify is sent without waiting for the peer's, and reading goes on.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>

#include "common/net.hpp"

namespace faultline::proxy {

class TlsSocket {
 public:
  // What a non-blocking call needs before it can make progress.
  enum class Want { nothing, read, write };

  explicit TlsSocket(SSL_CTX* ctx);
  ~TlsSocket();
  TlsSocket(const TlsSocket&) = delete;
  TlsSocket& operator=(const TlsSocket&) = delete;

  SSL* ssl() const noexcept { return ssl_; }
  // Binds to `sock` (which must stay open while this lives) as the server or the client end.
  void attach(tcp::socket& sock, bool server);
  // Runs the handshake; cancel `sock` to interrupt it.
  awaitable<error_code> handshake(tcp::socket& sock);
  // One non-blocking read into [p, p+n): bytes read (> 0); or 0 with `want` set (wait, then call
  // again); or 0 with `ec` (asio::error::eof at the peer's close_notify or TCP end).
  std::size_t read(char* p, std::size_t n, Want& want, error_code& ec);
  // One non-blocking write: bytes taken (possibly fewer than n), or 0 with `want` or `ec`. A call
  // that returned `want` must be repeated with the same bytes.
  std::size_t write(const char* p, std::size_t n, Want& want, error_code& ec);
  // Writes all of [p, p+n), waiting as needed.
  awaitable<error_code> write_all(tcp::socket& sock, const char* p, std::size_t n);
  // Sends close_notify (best effort, non-blocking); reading may go on afterwards.
  void send_close_notify();

 private:
  // Maps the result `r` of an SSL call to `want` or `ec`.
  void classify(int r, Want& want, error_code& ec);
  SSL* ssl_;
};

}  // namespace faultline::proxy
