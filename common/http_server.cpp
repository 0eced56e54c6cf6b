#include "common/http_server.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>
#include <unordered_set>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "common/co_spawn.hpp"

namespace faultline {

using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

struct HttpServer::State {
  HttpHandler handler;
  HttpServerOptions options;
  std::atomic<std::size_t> active{0};
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::unordered_set<tcp::acceptor*> acceptors;  // registered by their accept loops
};

namespace {

struct ActiveGuard {
  std::atomic<std::size_t>& n;
  explicit ActiveGuard(std::atomic<std::size_t>& c) : n(c) { n.fetch_add(1); }
  ~ActiveGuard() { n.fetch_sub(1); }
  ActiveGuard(const ActiveGuard&) = delete;
  ActiveGuard& operator=(const ActiveGuard&) = delete;
};

// Writes a response that ends the connection (errors detected before a handler ran).
awaitable<void> write_final(beast::tcp_stream& stream, HttpResponse res,
                            std::chrono::milliseconds timeout) {
  res.keep_alive(false);
  res.prepare_payload();
  stream.expires_after(timeout);
  co_await http::async_write(stream, res, use_nothrow);
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

awaitable<void> session(std::shared_ptr<HttpServer::State> state, tcp::socket socket) {
  ActiveGuard guard(state->active);
  const HttpServerOptions& opt = state->options;
  error_code ec;
  tcp::endpoint remote = socket.remote_endpoint(ec);
  socket.set_option(tcp::no_delay(true), ec);
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  bool first = true;

  for (;;) {
    // Keep-alive: wait (idle timeout) for the first byte of the next request, unless pipelined
    // bytes are already buffered. Then the whole head must arrive within header_timeout.
    if (!first && buffer.size() == 0) {
      stream.expires_after(opt.idle_timeout);
      auto [rec, n] = co_await stream.async_read_some(buffer.prepare(4096), use_nothrow);
      if (rec) co_return;  // idle timeout, EOF or reset: nothing was in flight
      buffer.commit(n);
    }
    first = false;

    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opt.header_limit));
    parser.body_limit(opt.body_limit);

    stream.expires_after(opt.header_timeout);
    auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, use_nothrow);
    if (hec) {
      spdlog::debug("header read failed: {} (buffered {})", hec.message(), buffer.size());
      if (hec == http::error::header_limit) {
        co_await write_final(stream,
                             json_error(http::status::request_header_fields_too_large,
                                        "request header fields too large"),
                             opt.write_timeout);
      } else if (hec == http::error::body_limit) {
        co_await write_final(
            stream,
            json_error(http::status::payload_too_large,
                       "request body larger than " + std::to_string(opt.body_limit) + " bytes"),
            opt.write_timeout);
      } else if (hec == beast::error::timeout) {
        // tcp_stream closes the socket when its deadline passes: a slow client is simply cut off.
      } else if (!is_disconnect(hec) && hec != http::error::end_of_stream &&
                 hec != http::error::partial_message) {
        co_await write_final(stream,
                             json_error(http::status::bad_request,
                                        std::string("malformed request: ") + hec.message()),
                             opt.write_timeout);
      }
      co_return;
    }

    // An "Expect: 100-continue" client waits for this before sending the body.
    if (parser.get()[http::field::expect] == "100-continue") {
      http::response<http::empty_body> cont{http::status::continue_, parser.get().version()};
      stream.expires_after(opt.write_timeout);
      auto [cec, cn] = co_await http::async_write(stream, cont, use_nothrow);
      if (cec) co_return;
    }

    stream.expires_after(opt.body_timeout);
    auto [bec, bn] = co_await http::async_read(stream, buffer, parser, use_nothrow);
    if (bec) {
      if (bec == http::error::body_limit) {
        co_await write_final(
            stream,
            json_error(http::status::payload_too_large,
                       "request body larger than " + std::to_string(opt.body_limit) + " bytes"),
            opt.write_timeout);
      } else if (bec == beast::error::timeout) {
        // Socket already closed by tcp_stream's deadline.
      } else if (!is_disconnect(bec) && bec != http::error::partial_message) {
        co_await write_final(stream,
                             json_error(http::status::bad_request,
                                        std::string("malformed request body: ") + bec.message()),
                             opt.write_timeout);
      }
      co_return;
    }

    HttpRequest req = parser.release();
    stream.expires_never();  // handlers bound their own work; the client may legitimately wait
    RequestContext ctx(stream.socket(), remote);
    HttpResponse res;
    try {
      res = co_await state->handler(req, ctx);
    } catch (const std::exception& e) {
      spdlog::error("http handler failed for {} {}: {}", std::string(req.method_string()),
                    std::string(req.target()), e.what());
      res = json_error(http::status::internal_server_error, "internal error");
    }

    const bool keep = req.keep_alive() && res.keep_alive() && !state->stopping.load();
    res.version(req.version());
    res.keep_alive(keep);
    if (!opt.server_header.empty() && res.find(http::field::server) == res.end())
      res.set(http::field::server, opt.server_header);
    if (res.find(http::field::content_length) == res.end() && !res.chunked()) res.prepare_payload();
    stream.expires_after(opt.write_timeout);
    auto [wec, wn] = co_await http::async_write(stream, res, use_nothrow);
    if (wec) co_return;
    if (!keep) {
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
  }
}

awaitable<void> reject_overflow(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  auto res = json_error(http::status::service_unavailable, "connection limit reached");
  res.set(http::field::retry_after, "1");
  co_await write_final(stream, std::move(res), std::chrono::milliseconds(1000));
}

awaitable<void> accept_loop(std::shared_ptr<HttpServer::State> state, tcp::acceptor acceptor) {
  {
    std::lock_guard lock(state->mu);
    state->acceptors.insert(&acceptor);
  }
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer backoff(executor);
  while (!state->stopping.load()) {
    auto [ec, socket] = co_await acceptor.async_accept(use_nothrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || state->stopping.load()) break;
      // EMFILE / ENFILE / ENOBUFS: back off instead of spinning.
      spdlog::warn("accept failed: {}", ec.message());
      backoff.expires_after(std::chrono::milliseconds(20));
      co_await backoff.async_wait(use_nothrow);
      continue;
    }
    const auto cap = state->options.max_connections;
    if (cap != 0 && state->active.load() >= cap) {
      asio::co_spawn(executor, reject_overflow(std::move(socket)), log_exception("http overflow"));
      continue;
    }
    asio::co_spawn(executor, session(state, std::move(socket)), log_exception("http session"));
  }
  std::lock_guard lock(state->mu);
  state->acceptors.erase(&acceptor);
}

}  // namespace

awaitable<void> RequestContext::wait_disconnect() {
  for (;;) {
    auto [ec] = co_await socket_.async_wait(tcp::socket::wait_read, use_nothrow);
    if (ec) co_return;
    char byte;
    error_code pec;
    const std::size_t n = socket_.receive(asio::buffer(&byte, 1), tcp::socket::message_peek, pec);
    if (pec == asio::error::would_block) continue;
    if (pec || n == 0) co_return;  // EOF or error: the client is gone
    // Pipelined bytes: the client is still there. Wait until cancelled by the racing work.
    asio::steady_timer forever(co_await asio::this_coro::executor,
                               asio::steady_timer::time_point::max());
    co_await forever.async_wait(use_nothrow);
    co_return;
  }
}

HttpResponse json_error(http::status status, std::string_view message, unsigned version) {
  json body = {{"error", message}, {"status", static_cast<unsigned>(status)}};
  return json_response(status, body, version);
}

HttpResponse json_response(http::status status, const json& body, unsigned version) {
  HttpResponse res{status, version};
  res.set(http::field::content_type, "application/json");
  res.body() = body.dump();
  res.prepare_payload();
  return res;
}

HttpServer::HttpServer(IoPool& pool, HttpHandler handler, HttpServerOptions options)
    : pool_(pool), state_(std::make_shared<State>()) {
  state_->handler = std::move(handler);
  state_->options = std::move(options);
}

HttpServer::~HttpServer() {
  stop();
}

tcp::endpoint HttpServer::listen(const HostPort& where) {
  asio::ip::tcp::resolver resolver(pool_.context(0));
  auto results =
      resolver.resolve(where.host, std::to_string(where.port), asio::ip::resolver_base::passive);
  tcp::endpoint ep = results.begin()->endpoint();
  for (std::size_t i = 0; i < pool_.size(); ++i) {
    tcp::acceptor acceptor(pool_.context(i));
    acceptor.open(ep.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    if (pool_.size() > 1) acceptor.set_option(ReusePort(true));
    acceptor.bind(i == 0 ? ep : bound_);
    acceptor.listen(asio::socket_base::max_listen_connections);
    if (i == 0) bound_ = acceptor.local_endpoint();
    asio::co_spawn(pool_.context(i), accept_loop(state_, std::move(acceptor)),
                   log_exception("http accept loop"));
  }
  return bound_;
}

void HttpServer::stop() {
  if (state_->stopping.exchange(true)) return;
  std::lock_guard lock(state_->mu);
  for (tcp::acceptor* a : state_->acceptors) {
    asio::post(a->get_executor(), [state = state_, a] {
      std::lock_guard inner(state->mu);
      if (state->acceptors.count(a)) {
        error_code ec;
        a->cancel(ec);
        a->close(ec);
      }
    });
  }
}

std::size_t HttpServer::active_connections() const noexcept {
  return state_->active.load();
}

}  // namespace faultline
