// A small HTTP/1.1 server on Beast coroutines, shared by the target, the proxy's control API and
// the load generator's metrics endpoint. One acceptor per event loop of an IoPool (SO_REUSEPORT),
// one coroutine per connection, keep-alive, and every limit a public server needs: header size
// (431), body size (413), malformed requests (400 + close), a deadline to receive a request head
// (slow clients), an idle keep-alive timeout and a write timeout. Requests are parsed by Beast's
// parser (one per request, buffer reused per connection); responses are written as one gather
// write of a serialized head and the body; deadlines are checked by one watchdog timer per event
// loop, so a timeout fires up to 1/8 of the smallest timeout (at most 250 ms) late. With
// `HttpServerOptions::tls` set it serves HTTPS instead: the same code over an SSL stream.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "common/config.hpp"
#include "common/io_pool.hpp"
#include "common/net.hpp"

namespace boost::asio::ssl {
class context;
template <typename Stream>
class stream;
}  // namespace boost::asio::ssl

namespace faultline {

namespace http = boost::beast::http;
using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

struct HttpServerOptions {
  std::size_t header_limit = 16 * 1024;             // bytes of request head; above → 431
  std::uint64_t body_limit = 1024 * 1024;           // bytes of body; above → 413
  std::chrono::milliseconds header_timeout{10000};  // to receive a whole request head
  std::chrono::milliseconds body_timeout{30000};    // to receive the body once the head is in
  std::chrono::milliseconds idle_timeout{60000};    // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{30000};   // to send a response
  std::size_t max_connections = 0;  // 0 = no cap; above → accept and close at once
  std::string server_header = "faultline";
  // Set: HTTPS with this context (see common/tls.hpp); the TLS handshake must complete within
  // header_timeout, and a connection over max_connections is closed before its handshake. Null:
  // plain HTTP.
  std::shared_ptr<boost::asio::ssl::context> tls;
};

// A connection a handler took over (RequestContext::take_over): server-sent events, a WebSocket.
// The server writes no response of its own and closes the connection when the taker returns.
struct TakenConnection {
  using Plain = tcp::socket;
  using Tls = asio::ssl::stream<tcp::socket>;
  std::variant<Plain*, Tls*> stream;  // the connection, past its TLS handshake when TLS
  beast::flat_buffer* buffer;         // bytes the client sent after the request, not yet read
  const HttpRequest* request;
  // The taker's timeouts: after arm(t), a wait still pending t later fails (the server shuts
  // the socket down, as for its own waits); disarm() for a wait with no end.
  std::function<void(std::chrono::milliseconds)> arm;
  std::function<void()> disarm;
  // True once the server is stopping: a long-lived taker ends at its next step.
  std::function<bool()> stopping;
};
using TakeOver = std::function<awaitable<void>(TakenConnection&)>;

// What a handler knows about the request beyond its message.
class RequestContext {
 public:
  RequestContext(tcp::socket& socket, tcp::endpoint remote) : socket_(socket), remote_(remote) {}
  const tcp::endpoint& remote() const noexcept { return remote_; }
  // Completes when the client closes its side (or the socket errors). Handlers doing long work
  // race it with `||` to abandon the work when nobody is waiting for the answer.
  awaitable<void> wait_disconnect();
  // Instead of writing the handler's response, the server runs `f` with the connection once the
  // handler returns (the returned response then only feeds the handler's own accounting).
  void take_over(TakeOver f) { take_over_ = std::move(f); }
  const TakeOver& taken() const noexcept { return take_over_; }

 private:
  tcp::socket& socket_;
  tcp::endpoint remote_;
  TakeOver take_over_;
};

using HttpHandler = std::function<awaitable<HttpResponse>(HttpRequest&, RequestContext&)>;

// Builds `{"error": message, "status": N}` responses (the error shape of every faultline API).
HttpResponse json_error(http::status status, std::string_view message, unsigned version = 11);
// Builds a JSON response with the given status.
HttpResponse json_response(http::status status, const json& body, unsigned version = 11);

class HttpServer {
 public:
  HttpServer(IoPool& pool, HttpHandler handler, HttpServerOptions options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting on every loop of the pool. Throws std::system_error on bind errors
  // (a setup error). Returns the bound endpoint (port 0 resolved).
  tcp::endpoint listen(const HostPort& where);
  tcp::endpoint local_endpoint() const { return bound_; }
  // Stops accepting; open connections finish their current exchange and close.
  void stop();

  std::size_t active_connections() const noexcept;

  struct State;  // shared with the per-connection coroutines; public only for the .cpp

 private:
  IoPool& pool_;
  std::shared_ptr<State> state_;
  tcp::endpoint bound_;
};

}  // namespace faultline
