// OpenSSL on a non-blocking descriptor (see tls_socket.hpp).
#include "proxy/tls_socket.hpp"

#include <openssl/err.h>

#include <cerrno>

#include <boost/asio/ssl/error.hpp>

namespace faultline::proxy {

TlsSocket::TlsSocket(SSL_CTX* ctx) : ssl_(SSL_new(ctx)) {
  // A peer that closes TCP without close_notify ends the stream like one that sends it: a proxy
  // passes on what the peer did instead of turning it into an error.
  SSL_set_options(ssl_, SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // One read(2) per record or more instead of two (header, then body). Records read ahead are
  // announced by no readiness wait: the tcp engine reads again after every read that returned
  // data and waits only once OpenSSL wants more (tcp_connection.cpp, reader).
  SSL_set_read_ahead(ssl_, 1);
}

TlsSocket::~TlsSocket() {
  SSL_free(ssl_);
}

void TlsSocket::attach(tcp::socket& sock, bool server) {
  error_code ignored;
  sock.non_blocking(true, ignored);
  SSL_set_fd(ssl_, sock.native_handle());
  if (server)
    SSL_set_accept_state(ssl_);
  else
    SSL_set_connect_state(ssl_);
}

void TlsSocket::classify(int r, Want& want, error_code& ec) {
  const int e = SSL_get_error(ssl_, r);
  switch (e) {
    case SSL_ERROR_WANT_READ:
      want = Want::read;
      return;
    case SSL_ERROR_WANT_WRITE:
      want = Want::write;
      return;
    case SSL_ERROR_ZERO_RETURN:
      ec = asio::error::eof;
      return;
    case SSL_ERROR_SYSCALL: {
      const unsigned long err = ERR_get_error();
      if (err != 0)
        ec = error_code(static_cast<int>(err), asio::error::get_ssl_category());
      else if (errno != 0)
        ec = error_code(errno, asio::error::get_system_category());
      else
        ec = asio::error::eof;
      return;
    }
    default: {
      const unsigned long err = ERR_get_error();
      ec = err != 0 ? error_code(static_cast<int>(err), asio::error::get_ssl_category())
                    : error_code(asio::ssl::error::unspecified_system_error);
      return;
    }
  }
}

awaitable<error_code> TlsSocket::handshake(tcp::socket& sock) {
  for (;;) {
    ERR_clear_error();
    errno = 0;
    const int r = SSL_do_handshake(ssl_);
    if (r == 1) co_return error_code{};
    Want want = Want::nothing;
    error_code ec;
    classify(r, want, ec);
    if (ec) co_return ec;
    auto [wec] = co_await sock.async_wait(
        want == Want::write ? tcp::socket::wait_write : tcp::socket::wait_read, use_nothrow);
    if (wec) co_return wec;
  }
}

std::size_t TlsSocket::read(char* p, std::size_t n, Want& want, error_code& ec) {
  ERR_clear_error();
  errno = 0;
  std::size_t got = 0;
  const int r = SSL_read_ex(ssl_, p, n, &got);
  if (r == 1) return got;
  classify(r, want, ec);
  return 0;
}

std::size_t TlsSocket::write(const char* p, std::size_t n, Want& want, error_code& ec) {
  if (n == 0) return 0;
  ERR_clear_error();
  errno = 0;
  std::size_t put = 0;
  const int r = SSL_write_ex(ssl_, p, n, &put);
  if (r == 1) return put;
  classify(r, want, ec);
  return 0;
}

awaitable<error_code> TlsSocket::write_all(tcp::socket& sock, const char* p, std::size_t n) {
  while (n > 0) {
    Want want = Want::nothing;
    error_code ec;
    const std::size_t put = write(p, n, want, ec);
    if (ec) co_return ec;
    p += put;
    n -= put;
    if (want != Want::nothing) {
      auto [wec] = co_await sock.async_wait(
          want == Want::read ? tcp::socket::wait_read : tcp::socket::wait_write, use_nothrow);
      if (wec) co_return wec;
    }
  }
  co_return error_code{};
}

void TlsSocket::send_close_notify() {
  ERR_clear_error();
  SSL_shutdown(ssl_);  // 0: sent, the peer's not yet seen; errors: nothing more to do here
  ERR_clear_error();
}

}  // namespace faultline::proxy
