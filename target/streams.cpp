// GET /events (server-sent events) and GET /ws/echo (WebSocket echo): see streams.hpp.
#include "target/streams.hpp"

#include <charconv>
#include <chrono>
#include <string>

#include <fmt/format.h>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "common/config.hpp"

namespace faultline::target {

namespace {

namespace websocket = beast::websocket;
using namespace std::chrono_literals;

constexpr auto kWriteTimeout = std::chrono::milliseconds(10000);
constexpr auto kWsIdle = std::chrono::milliseconds(60000);
constexpr std::size_t kWsMessageMax = 16u << 20;

struct EventsPlan {
  std::chrono::milliseconds interval{1000};
  std::uint64_t count = 0;  // 0: until the client leaves
  std::uint64_t first = 1;
};

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// The plan from the query and Last-Event-ID, or an error sentence.
std::optional<EventsPlan> plan_of(const HttpRequest& req, std::string_view query,
                                  std::string& error) {
  EventsPlan plan;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = item.find('=');
    const std::string_view key = item.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    if (key == "interval") {
      const auto d = parse_duration(value);
      if (!d || *d < 1ms || *d > std::chrono::hours(1)) {
        error =
            fmt::format("interval must be a duration from 1ms to 1h (e.g. 100ms), got '{}'", value);
        return std::nullopt;
      }
      plan.interval = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
    } else if (key == "count") {
      const auto n = parse_u64(value);
      if (!n || *n > 1'000'000'000) {
        error = fmt::format("count must be an integer from 0 to 1000000000, got '{}'", value);
        return std::nullopt;
      }
      plan.count = *n;
    } else if (!key.empty()) {
      error = fmt::format("unknown query parameter '{}' (interval, count)", key);
      return std::nullopt;
    }
  }
  if (auto it = req.find("Last-Event-ID"); it != req.end()) {
    const auto last = parse_u64(std::string_view(it->value().data(), it->value().size()));
    if (!last || *last >= 1'000'000'000'000ULL) {
      error = "Last-Event-ID must be the id of an event this route sent";
      return std::nullopt;
    }
    plan.first = *last + 1;
  }
  return plan;
}

template <class Stream>
awaitable<error_code> write_all(Stream& stream, TakenConnection& conn, std::string_view bytes) {
  conn.arm(kWriteTimeout);
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(bytes), use_nothrow);
  conn.disarm();
  co_return ec;
}

template <class Stream>
awaitable<void> send_events(Stream& stream, TakenConnection& conn, EventsPlan plan) {
  const bool chunked = conn.request->version() >= 11;
  std::string head =
      "HTTP/1.1 200 OK\r\nServer: faultline-target\r\nContent-Type: text/event-stream\r\n"
      "Cache-Control: no-cache\r\n";
  head += chunked ? "Transfer-Encoding: chunked\r\n\r\n" : "Connection: close\r\n\r\n";
  if (co_await write_all(stream, conn, head)) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto next = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; plan.count == 0 || i < plan.count; ++i) {
    if (conn.stopping()) break;
    if (i > 0) {
      next += plan.interval;
      timer.expires_at(next);
      co_await timer.async_wait(use_nothrow);
    }
    const std::uint64_t id = plan.first + i;
    const std::string event = fmt::format("id: {}\nevent: tick\ndata: {{\"seq\":{}}}\n\n", id, id);
    const std::string piece = chunked ? fmt::format("{:x}\r\n{}\r\n", event.size(), event) : event;
    if (co_await write_all(stream, conn, piece)) co_return;  // the client left
  }
  if (chunked) co_await write_all(stream, conn, "0\r\n\r\n");
  error_code ec;
  beast::get_lowest_layer(stream).shutdown(tcp::socket::shutdown_send, ec);
}

template <class Stream>
awaitable<void> echo(Stream& next, TakenConnection& conn) {
  websocket::stream<Stream&> ws(next);
  ws.read_message_max(kWsMessageMax);
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "faultline-target"); }));
  // Bytes the client sent after its upgrade request would be frames: none are expected before
  // the 101, so they are refused rather than lost.
  if (conn.buffer->size() != 0) co_return;
  conn.arm(kWriteTimeout);
  auto [aec] = co_await ws.async_accept(*conn.request, use_nothrow);
  if (aec) co_return;
  beast::flat_buffer message;
  for (;;) {
    if (conn.stopping()) {
      conn.arm(kWriteTimeout);
      co_await ws.async_close(websocket::close_code::going_away, use_nothrow);
      co_return;
    }
    conn.arm(kWsIdle);
    auto [rec, n] = co_await ws.async_read(message, use_nothrow);
    if (rec) co_return;  // closed (Beast answered the close frame), reset or idle
    ws.text(ws.got_text());
    conn.arm(kWriteTimeout);
    auto [wec, wn] = co_await ws.async_write(message.data(), use_nothrow);
    if (wec) co_return;
    message.consume(message.size());
  }
}

}  // namespace

HttpResponse serve_events(const HttpRequest& req, std::string_view query, RequestContext& ctx) {
  const unsigned v = req.version();
  if (req.method() != http::verb::get) {
    auto res = json_error(http::status::method_not_allowed, "method not allowed (GET)", v);
    res.set(http::field::allow, "GET");
    return res;
  }
  std::string error;
  auto plan = plan_of(req, query, error);
  if (!plan) return json_error(http::status::bad_request, error, v);
  ctx.take_over([plan = *plan](TakenConnection& conn) -> awaitable<void> {
    if (auto* plain = std::get_if<TakenConnection::Plain*>(&conn.stream))
      co_await send_events(**plain, conn, plan);
    else
      co_await send_events(*std::get<TakenConnection::Tls*>(conn.stream), conn, plan);
  });
  return HttpResponse{http::status::ok, v};
}

HttpResponse serve_ws_echo(const HttpRequest& req, RequestContext& ctx) {
  const unsigned v = req.version();
  if (!websocket::is_upgrade(req)) {
    auto res = json_error(http::status::upgrade_required,
                          "a WebSocket upgrade is expected (GET with Connection: Upgrade, "
                          "Upgrade: websocket, Sec-WebSocket-Key, Sec-WebSocket-Version: 13)",
                          v);
    res.set(http::field::upgrade, "websocket");
    res.set(http::field::connection, "Upgrade");
    return res;
  }
  ctx.take_over([](TakenConnection& conn) -> awaitable<void> {
    if (auto* plain = std::get_if<TakenConnection::Plain*>(&conn.stream))
      co_await echo(**plain, conn);
    else
      co_await echo(*std::get<TakenConnection::Tls*>(conn.stream), conn);
  });
  return HttpResponse{http::status::switching_protocols, v};
}

}  // namespace faultline::target
