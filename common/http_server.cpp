#include "common/http_server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <optional>
#include <type_traits>
#include <unordered_set>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>

#include "common/co_spawn.hpp"
#include "common/http_request_rules.hpp"

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

using Clock = std::chrono::steady_clock;
using RequestParser = http::request_parser<http::string_body>;
using TlsStream = asio::ssl::stream<tcp::socket>;

// The session code is one template over the stream: tcp::socket (plain, unchanged) or TlsStream.
template <class Stream>
inline constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

struct ActiveGuard {
  std::atomic<std::size_t>& n;
  explicit ActiveGuard(std::atomic<std::size_t>& c) : n(c) { n.fetch_add(1); }
  ~ActiveGuard() { n.fetch_sub(1); }
  ActiveGuard(const ActiveGuard&) = delete;
  ActiveGuard& operator=(const ActiveGuard&) = delete;
};

// The deadlines of one event loop's connections, enforced by one periodic timer. Re-arming a
// timer around every socket operation (beast::tcp_stream::expires_after) was a large share of
// each request's CPU; storing a time point is nearly free. A connection whose deadline has passed
// gets its pending operation cancelled and sees `fired`; it then closes without answering, as a
// tcp_stream deadline did. Deadlines fire up to one tick late (tick <= 1/8 of the smallest
// timeout, at most 250 ms). Only touched from its event loop's thread.
class Watchdog : public std::enable_shared_from_this<Watchdog> {
 public:
  struct Entry {
    tcp::socket* socket = nullptr;
    Clock::time_point deadline = Clock::time_point::max();
    bool fired = false;
    Entry* prev = nullptr;
    Entry* next = nullptr;
  };

  Watchdog(asio::any_io_executor executor, Clock::duration tick)
      : executor_(std::move(executor)), tick_(tick) {}

  void add(Entry* e) {
    e->next = head_;
    if (head_ != nullptr) head_->prev = e;
    head_ = e;
    if (!running_) {
      running_ = true;
      asio::co_spawn(executor_, run(shared_from_this()), log_exception("http watchdog"));
    }
  }
  void remove(Entry* e) {
    if (e->prev != nullptr) e->prev->next = e->next;
    if (e->next != nullptr) e->next->prev = e->prev;
    if (head_ == e) head_ = e->next;
    e->prev = e->next = nullptr;
  }

 private:
  // Runs while any connection is registered (an idle server has no timer ticking).
  static awaitable<void> run(std::shared_ptr<Watchdog> self) {
    asio::steady_timer timer(self->executor_);
    while (self->head_ != nullptr) {
      timer.expires_after(self->tick_);
      co_await timer.async_wait(use_nothrow);
      const auto now = Clock::now();
      for (Entry* e = self->head_; e != nullptr; e = e->next) {
        if (!e->fired && e->deadline <= now) {
          e->fired = true;
          // Shut down, not only cancel: a composed write (async_write, Beast's chunked writer)
          // may be between two write_some steps, where a cancel stops nothing and the next step
          // would then wait without a deadline. After shutdown every later step fails at once.
          error_code ignored;
          e->socket->shutdown(tcp::socket::shutdown_both, ignored);
          e->socket->cancel(ignored);
        }
      }
    }
    self->running_ = false;
  }

  asio::any_io_executor executor_;
  Clock::duration tick_;
  Entry* head_ = nullptr;
  bool running_ = false;
};

// Keeps a connection's entry registered for the lifetime of its coroutine.
class Deadline {
 public:
  Deadline(std::shared_ptr<Watchdog> dog, tcp::socket* socket) : dog_(std::move(dog)) {
    entry_.socket = socket;
    dog_->add(&entry_);
  }
  ~Deadline() { dog_->remove(&entry_); }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  void arm(std::chrono::milliseconds timeout) { entry_.deadline = Clock::now() + timeout; }
  void disarm() { entry_.deadline = Clock::time_point::max(); }
  bool fired() const { return entry_.fired; }

 private:
  std::shared_ptr<Watchdog> dog_;
  Watchdog::Entry entry_;
};

Clock::duration watchdog_tick(const HttpServerOptions& o) {
  const auto smallest = std::min({o.header_timeout, o.body_timeout, o.idle_timeout, o.write_timeout,
                                  std::chrono::milliseconds(2000)});
  return std::clamp<Clock::duration>(smallest / 8, std::chrono::milliseconds(5),
                                     std::chrono::milliseconds(250));
}

// How much to read at once: what the buffer already has room for, within [4 KiB, 64 KiB].
std::size_t read_size(const beast::flat_buffer& b) {
  return std::clamp<std::size_t>(b.capacity() - b.size(), 4096, 65536);
}

// Beast's read algorithm (http::async_read_header / http::async_read) on a socket or TLS stream:
// parse what is buffered, read only when the parser needs more. Returns the error codes Beast's
// reads return, or beast::error::timeout when the watchdog cut the connection off. Bytes after
// the message (pipelining) stay in the buffer. A TLS peer closing without close_notify counts as
// EOF: HTTP/1.1 framing already tells a complete request from a cut one.
template <class Stream>
awaitable<error_code> read_part(Stream* socket, beast::flat_buffer* buffer, RequestParser* parser,
                                Deadline* deadline, bool header_only) {
  parser->eager(!header_only);
  while (!(header_only ? parser->is_header_done() : parser->is_done())) {
    if (buffer->size() > 0) {
      error_code ec;
      const std::size_t used = parser->put(buffer->data(), ec);
      // Beast parses a head only once all of it is buffered, in one put: these bytes are the head.
      if (!ec && header_only && parser->is_header_done() &&
          http_rules::has_obs_fold(asio::buffer(buffer->data(), used)))
        co_return http::error::bad_field;
      buffer->consume(used);
      if (!ec) continue;
      if (ec != http::error::need_more) co_return ec;
    }
    auto [rec, n] =
        co_await socket->async_read_some(buffer->prepare(read_size(*buffer)), use_nothrow);
    if (deadline->fired()) co_return beast::error::timeout;
    if (rec == asio::error::eof || rec == asio::ssl::error::stream_truncated) {
      if (!parser->got_some()) co_return http::error::end_of_stream;
      error_code eec;
      parser->put_eof(eec);  // completes a message delimited by EOF, else partial_message
      if (eec) co_return eec;
      continue;
    }
    if (rec) co_return rec;
    buffer->commit(n);
  }
  co_return error_code{};
}

// Appends what Beast's serializer writes before the body: status line, fields, blank line.
void serialize_head(const HttpResponse& res, std::string& out) {
  const unsigned v = res.version();
  const unsigned code = res.result_int();
  char line[] = "HTTP/1.1 200 ";  // 13 characters, patched below
  line[5] = static_cast<char>('0' + v / 10 % 10);
  line[7] = static_cast<char>('0' + v % 10);
  line[9] = static_cast<char>('0' + code / 100 % 10);
  line[10] = static_cast<char>('0' + code / 10 % 10);
  line[11] = static_cast<char>('0' + code % 10);
  out.append(line, 13);
  out.append(res.reason());
  out.append("\r\n");
  for (const auto& f : res) {
    out.append(f.name_string());
    out.append(": ");
    out.append(f.value());
    out.append("\r\n");
  }
  out.append("\r\n");
}

// Sends a response: head and body in one gather write (no copy of the body). `head` is scratch
// space reused across responses. Chunked responses go through Beast's serializer. The answer to a
// HEAD request is the head alone (its Content-Length still says what a GET would get), or the
// client would read the body as the start of the next response. Over TLS a small body is copied
// behind the head: an SSL stream writes one buffer per record, and two records (two sends) per
// response cost more than the copy.
template <class Stream>
awaitable<error_code> write_response(Stream* socket, const HttpResponse* res, std::string* head,
                                     bool head_only = false) {
  if (res->chunked() && !head_only) {
    auto [ec, n] = co_await http::async_write(*socket, *res, use_nothrow);
    co_return ec;
  }
  head->clear();
  serialize_head(*res, *head);
  if constexpr (kTls<Stream>) {
    if (!head_only && res->body().size() <= 16 * 1024) {
      head->append(res->body());
      head_only = true;
    }
  }
  const std::array<asio::const_buffer, 2> bufs = {
      asio::buffer(*head), head_only ? asio::const_buffer() : asio::buffer(res->body())};
  auto [ec, n] = co_await asio::async_write(*socket, bufs, use_nothrow);
  co_return ec;
}

// After a last response over TLS: a close_notify instead of a bare FIN. Asio's shutdown then waits
// for the peer's close_notify or EOF, bounded by the deadline.
awaitable<void> send_close_notify(TlsStream* stream, Deadline* deadline,
                                  std::chrono::milliseconds timeout) {
  deadline->arm(std::min(timeout, std::chrono::milliseconds(2000)));
  co_await stream->async_shutdown(use_nothrow);
}

// Writes a response that ends the connection (errors detected before a handler ran).
template <class Stream>
awaitable<void> write_final(Stream* socket, Deadline* deadline, HttpResponse res,
                            std::chrono::milliseconds timeout) {
  res.keep_alive(false);
  res.prepare_payload();
  deadline->arm(timeout);
  std::string head;
  const error_code ec = co_await write_response(socket, &res, &head);
  if (ec || deadline->fired()) co_return;
  if constexpr (kTls<Stream>) {
    co_await send_close_notify(socket, deadline, timeout);
  } else {
    error_code ignored;
    socket->shutdown(tcp::socket::shutdown_send, ignored);
  }
}

HttpResponse too_large(const HttpServerOptions& opt) {
  return json_error(http::status::payload_too_large,
                    "request body larger than " + std::to_string(opt.body_limit) + " bytes");
}

// One connection. Plain (Stream = tcp::socket): `socket` is the stream itself. TLS: the handshake
// runs first, under the header deadline.
template <class Stream>
awaitable<void> session(std::shared_ptr<HttpServer::State> state, std::shared_ptr<Watchdog> dog,
                        tcp::socket accepted) {
  ActiveGuard guard(state->active);
  const HttpServerOptions& opt = state->options;
  error_code ec;
  const tcp::endpoint remote = accepted.remote_endpoint(ec);
  accepted.set_option(tcp::no_delay(true), ec);
  Stream stream = [&] {
    if constexpr (kTls<Stream>)
      return Stream(std::move(accepted), *opt.tls);
    else
      return std::move(accepted);
  }();
  tcp::socket& socket = beast::get_lowest_layer(stream);
  Deadline deadline(std::move(dog), &socket);
  if constexpr (kTls<Stream>) {
    deadline.arm(opt.header_timeout);
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_nothrow);
    if (hec || deadline.fired()) {
      spdlog::debug("TLS handshake with {} failed: {}", remote.address().to_string(),
                    deadline.fired() ? "timed out" : hec.message());
      co_return;
    }
  }
  beast::flat_buffer buffer;  // reused by every request of the connection
  std::string head;           // response head scratch, reused
  std::optional<RequestParser> parser;
  bool first = true;

  for (;;) {
    // Keep-alive: wait (idle timeout) for the first byte of the next request, unless pipelined
    // bytes are already buffered. Then the whole head must arrive within header_timeout.
    if (!first && buffer.size() == 0) {
      deadline.arm(opt.idle_timeout);
      auto [rec, n] =
          co_await stream.async_read_some(buffer.prepare(read_size(buffer)), use_nothrow);
      if (rec || deadline.fired()) co_return;  // idle timeout, EOF or reset: nothing in flight
      buffer.commit(n);
    }
    first = false;

    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(opt.header_limit));
    parser->body_limit(opt.body_limit);

    deadline.arm(opt.header_timeout);
    const error_code hec = co_await read_part(&stream, &buffer, &*parser, &deadline, true);
    if (hec) {
      spdlog::debug("header read failed: {} (buffered {})", hec.message(), buffer.size());
      if (hec == http::error::header_limit) {
        co_await write_final(&stream, &deadline,
                             json_error(http::status::request_header_fields_too_large,
                                        "request header fields too large"),
                             opt.write_timeout);
      } else if (hec == http::error::body_limit) {
        co_await write_final(&stream, &deadline, too_large(opt), opt.write_timeout);
      } else if (hec == beast::error::timeout) {
        // The deadline passed: a slow client is simply cut off.
      } else if (!is_disconnect(hec) && hec != http::error::end_of_stream &&
                 hec != http::error::partial_message) {
        co_await write_final(&stream, &deadline,
                             json_error(http::status::bad_request,
                                        std::string("malformed request: ") + hec.message()),
                             opt.write_timeout);
      }
      co_return;
    }

    if (auto refused = http_rules::framing_error(parser->get())) {
      co_await write_final(&stream, &deadline, std::move(*refused), opt.write_timeout);
      co_return;
    }
    http_rules::to_origin_form(parser->get());

    // An "Expect: 100-continue" client waits for this before sending the body.
    if (parser->get()[http::field::expect] == "100-continue") {
      HttpResponse cont{http::status::continue_, parser->get().version()};
      deadline.arm(opt.write_timeout);
      const error_code cec = co_await write_response(&stream, &cont, &head);
      if (cec || deadline.fired()) co_return;
    }

    deadline.arm(opt.body_timeout);
    const error_code bec = co_await read_part(&stream, &buffer, &*parser, &deadline, false);
    if (bec) {
      if (bec == http::error::body_limit) {
        co_await write_final(&stream, &deadline, too_large(opt), opt.write_timeout);
      } else if (bec == beast::error::timeout) {
        // Cut off by the deadline.
      } else if (!is_disconnect(bec) && bec != http::error::partial_message) {
        co_await write_final(&stream, &deadline,
                             json_error(http::status::bad_request,
                                        std::string("malformed request body: ") + bec.message()),
                             opt.write_timeout);
      }
      co_return;
    }

    HttpRequest req = parser->release();
    deadline.disarm();  // handlers bound their own work; the client may legitimately wait
    RequestContext ctx(socket, remote);
    HttpResponse res;
    try {
      res = co_await state->handler(req, ctx);
    } catch (const std::exception& e) {
      spdlog::error("http handler failed for {} {}: {}", std::string(req.method_string()),
                    std::string(req.target()), e.what());
      res = json_error(http::status::internal_server_error, "internal error");
    }

    if (ctx.taken()) {
      TakenConnection taken{.stream = &stream,
                            .buffer = &buffer,
                            .request = &req,
                            .arm = [&deadline](std::chrono::milliseconds t) { deadline.arm(t); },
                            .disarm = [&deadline] { deadline.disarm(); },
                            .stopping = [&state] { return state->stopping.load(); }};
      try {
        co_await ctx.taken()(taken);
      } catch (const std::exception& e) {
        spdlog::error("http connection taken over by {} {} failed: {}",
                      std::string(req.method_string()), std::string(req.target()), e.what());
      }
      co_return;
    }

    const bool keep = req.keep_alive() && res.keep_alive() && !state->stopping.load();
    res.version(req.version());
    res.keep_alive(keep);
    if (!opt.server_header.empty() && res.find(http::field::server) == res.end())
      res.set(http::field::server, opt.server_header);
    if (res.find(http::field::content_length) == res.end() && !res.chunked()) res.prepare_payload();
    deadline.arm(opt.write_timeout);
    const error_code wec =
        co_await write_response(&stream, &res, &head, req.method() == http::verb::head);
    if (wec || deadline.fired()) co_return;
    if (!keep) {
      if constexpr (kTls<Stream>)
        co_await send_close_notify(&stream, &deadline, opt.write_timeout);
      else
        socket.shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
  }
}

awaitable<void> reject_overflow(std::shared_ptr<Watchdog> dog, tcp::socket socket) {
  Deadline deadline(std::move(dog), &socket);
  auto res = json_error(http::status::service_unavailable, "connection limit reached");
  res.set(http::field::retry_after, "1");
  co_await write_final(&socket, &deadline, std::move(res), std::chrono::milliseconds(1000));
}

awaitable<void> accept_loop(std::shared_ptr<HttpServer::State> state, tcp::acceptor acceptor) {
  {
    std::lock_guard lock(state->mu);
    state->acceptors.insert(&acceptor);
  }
  auto executor = co_await asio::this_coro::executor;
  auto dog = std::make_shared<Watchdog>(executor, watchdog_tick(state->options));
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
      // A plain 503 means nothing to a TLS client, and a handshake costs what overload lacks.
      if (!state->options.tls)
        asio::co_spawn(executor, reject_overflow(dog, std::move(socket)),
                       log_exception("http overflow"));
      continue;
    }
    if (state->options.tls)
      asio::co_spawn(executor, session<TlsStream>(state, dog, std::move(socket)),
                     log_exception("https session"));
    else
      asio::co_spawn(executor, session<tcp::socket>(state, dog, std::move(socket)),
                     log_exception("http session"));
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
