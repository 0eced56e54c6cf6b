// The stream of the http and redis engines: a plain `Next` (tcp::socket for redis, Beast's
// tcp_stream for http, whose timeouts then cover TLS too), or Asio's TLS stream over it once
// enable_tls() was called. Beast's and Asio's algorithms take it as an async stream: each operation
// goes to one or the other with the same completion token, so both branches have one result type.
// The plain branch is the engine's old stream with one extra test per operation.
#pragma once

#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "common/net.hpp"
#include "common/tls.hpp"
#include "proxy/tls_handshake.hpp"

namespace faultline::proxy {

template <class Next>
class MaybeTlsStream {
 public:
  using executor_type = typename Next::executor_type;

  explicit MaybeTlsStream(Next next) : next_(std::move(next)) {}
  // The TLS stream refers to next_: neither may move.
  MaybeTlsStream(const MaybeTlsStream&) = delete;
  MaybeTlsStream& operator=(const MaybeTlsStream&) = delete;

  executor_type get_executor() noexcept { return next_.get_executor(); }
  Next& next_layer() noexcept { return next_; }
  tcp::socket& socket() noexcept {
    if constexpr (std::is_same_v<Next, tcp::socket>)
      return next_;
    else
      return next_.socket();
  }
  void close(error_code& ec) { socket().close(ec); }
  // Beast's tcp_stream timeouts (http), which cover the TLS operations over it.
  template <class Duration>
  void expires_after(Duration d) {
    next_.expires_after(d);
  }
  void expires_never() { next_.expires_never(); }

  // From now on the bytes are TLS (the handshake comes next); returns its OpenSSL object.
  SSL* enable_tls(asio::ssl::context& ctx) {
    tls_.emplace(next_, ctx);
    // A peer closing TCP without close_notify ends the stream as EOF, as on the tcp engine.
    SSL_set_options(tls_->native_handle(), SSL_OP_IGNORE_UNEXPECTED_EOF);
    return tls_->native_handle();
  }
  bool is_tls() const noexcept { return tls_.has_value(); }
  asio::ssl::stream<Next&>& tls() { return *tls_; }

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    if (tls_) return tls_->async_read_some(buffers, std::forward<Token>(token));
    return next_.async_read_some(buffers, std::forward<Token>(token));
  }
  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    if (tls_) return tls_->async_write_some(buffers, std::forward<Token>(token));
    return next_.async_write_some(buffers, std::forward<Token>(token));
  }

 private:
  Next next_;
  std::optional<asio::ssl::stream<Next&>> tls_;
};

// Terminates TLS from the client on `s`: draws the certificate-chaos toxics, waits a
// tls_handshake_delay, then handshakes within the proxy's timeout, counted. `s`, `proxy` and `rt`
// belong to the awaiting connection. False when the handshake failed.
template <class Next>
awaitable<bool> accept_tls(Proxy& proxy, const TlsRuntime& rt, MaybeTlsStream<Next>& s, Rng& rng) {
  HandshakeChaos chaos = draw_handshake_chaos(proxy, rng);
  if (chaos.fault.delay.count() > 0) {
    asio::steady_timer delay(s.get_executor());
    delay.expires_after(chaos.fault.delay);
    co_await delay.async_wait(use_nothrow);
    // Closed meanwhile (the proxy deleted or updated): no handshake, and none counted as failed.
    if (!s.socket().is_open()) co_return false;
  }
  SSL* ssl = s.enable_tls(*rt.server);
  arm_server_chaos(ssl, rt, chaos.fault, local_address(s.socket()), proxy.counters());
  HandshakeScope scope(proxy, s.socket(), TlsSide::client);
  auto [ec] = co_await s.tls().async_handshake(asio::ssl::stream_base::server, use_nothrow);
  co_return scope.finish(ec, ssl);
}

// Originates TLS to the upstream `upstream` ("host:port") on `s`, within the proxy's timeout,
// counted. False when the handshake failed.
template <class Next>
awaitable<bool> originate_tls(Proxy& proxy, const TlsRuntime& rt, MaybeTlsStream<Next>& s,
                              std::string upstream) {
  SSL* ssl = s.enable_tls(*rt.client);
  const std::string err = tls::prepare_client_ssl(ssl, rt.client_config, upstream_host(upstream));
  HandshakeScope scope(proxy, s.socket(), TlsSide::upstream);
  error_code ec = asio::error::invalid_argument;
  if (err.empty())
    std::tie(ec) = co_await s.tls().async_handshake(asio::ssl::stream_base::client, use_nothrow);
  co_return scope.finish(ec, ssl);
}

}  // namespace faultline::proxy
