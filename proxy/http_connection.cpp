// The protocol-http engine: requests and responses parsed with Beast on both sides, keep-alive
// preserved (one upstream connection per client connection, dialled at the first request), and
// request faults applied per exchange: toxics (http_error, http_delay, http_abort, latency, hang,
// blackout, abort, transient) plus, when the proxy enables them, Envoy-style header faults.
// Every exchange can be recorded as one JSON line.
#include "proxy/http_connection.hpp"

#include <spdlog/spdlog.h>

#include <charconv>

#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "common/http_server.hpp"
#include "proxy/http_request_head.hpp"
#include "proxy/http_wire.hpp"
#include "proxy/proxied_connection.hpp"
#include "proxy/recorder.hpp"
#include "proxy/request_faults.hpp"
#include "proxy/tcp_connection.hpp"
#include "proxy/tls_stream.hpp"

namespace faultline::proxy {

namespace {

constexpr std::uint64_t kBodyLimit = 64ull << 20;
constexpr std::uint32_t kHeaderLimit = 64 * 1024;

std::optional<std::int64_t> header_int(const HttpRequest& req, std::string_view name) {
  auto it = req.find(name);
  if (it == req.end()) return std::nullopt;
  std::string_view v = it->value();
  std::int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || out < 0) return std::nullopt;
  return out;
}

// What to do after one exchange: read the client's next request, or stop (connection closed).
enum class Next { next_request, stop };

// One request as read from the client, with the bytes it took on the wire.
struct Incoming {
  HttpRequest req;
  std::size_t bytes = 0;
};

// The response of an `error` fault: its status, headers and body (typed JSON when it looks like
// JSON and the fault set no content-type).
HttpResponse error_response(const RequestFault& f, unsigned version, bool keep_alive) {
  HttpResponse res{static_cast<http::status>(f.status), version};
  bool has_type = false;
  for (const auto& [k, v] : f.headers) {
    res.set(k, v);
    has_type = has_type || beast::iequals(k, "content-type");
  }
  // 204 and 304 have no body (RFC 9110 15.3.5, 15.4.5): neither content nor its length is sent.
  const bool bodiless = f.status == 204 || f.status == 304;
  if (!bodiless) {
    if (!has_type && !f.body.empty() && f.body.front() == '{')
      res.set(http::field::content_type, "application/json");
    res.body() = f.body;
    res.prepare_payload();
  }
  res.keep_alive(keep_alive);
  return res;
}

class HttpConnection : public ProxiedConnection,
                       public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(std::shared_ptr<Proxy> proxy, tcp::socket client)
      : ProxiedConnection(std::move(proxy)),
        client_(beast::tcp_stream(std::move(client))),
        timer_(client_.get_executor()) {}
  void close_async(CloseReason reason) override {
    asio::post(client_.get_executor(),
               [self = shared_from_this(), reason] { self->close(reason); });
  }
  void toxics_changed_async() override {}  // toxics are read per request

  // The exchanges of one client connection, in order: read a request, pick its faults, then
  // answer it locally or forward it.
  static awaitable<void> run(std::shared_ptr<HttpConnection> self, std::uint64_t seed);

 private:
  // Reads the next request (answering "Expect: 100-continue"); nullopt once the connection is
  // closed (by the client, the idle timeout, or close()).
  static awaitable<std::optional<Incoming>> read_request(std::shared_ptr<HttpConnection> self);
  // The faults for `req`: its toxics' draws plus, when the proxy enables them, the header faults
  // (whose headers are then removed from `req`).
  std::vector<PickedFault> pick_faults(HttpRequest& req, RequestFaultPicker& picker);
  // A terminal fault that never reaches the upstream: abort, hang, or a local error response
  // (after `delay_response`).
  static awaitable<Next> answer_locally(std::shared_ptr<HttpConnection> self, HttpRequest req,
                                        RequestFault fault, Clock::duration delay_response,
                                        Clock::time_point started);
  // Forwards `req` and relays the response (after `delay_response`); `abort_after_forward` cuts
  // the connection instead of answering (abort_upstream).
  static awaitable<Next> forward(std::shared_ptr<HttpConnection> self, HttpRequest req,
                                 Clock::duration delay_response, bool abort_after_forward,
                                 Clock::time_point started);
  // Sends `req` upstream, dialling (once more, if a kept-alive connection went stale) as needed;
  // false when the upstream cannot be reached or the connection was closed meanwhile.
  static awaitable<bool> send_upstream(std::shared_ptr<HttpConnection> self, HttpRequest& req);
  void close(CloseReason reason) {
    if (closing_) return;
    closing_ = true;
    reason_ = reason;
    error_code ec;
    client_.socket().close(ec);
    if (upstream_) upstream_->socket().close(ec);
    timer_.cancel();
  }
  awaitable<void> sleep(Clock::duration d) {
    timer_.expires_after(d);
    co_await timer_.async_wait(use_nothrow);
  }
  // Sleeps `d` (counted as injected delay); false when the connection closed meanwhile.
  awaitable<bool> inject_delay(Clock::duration d) {
    if (d.count() <= 0) co_return true;
    count_injected_delay(*proxy_, d);
    co_await sleep(d);
    co_return !closing_;
  }
  // Header-triggered faults (x-faultline-abort / x-faultline-delay-ms, each with a -percentage).
  void header_faults(const HttpRequest& req, std::vector<PickedFault>& faults, Rng& rng);
  static awaitable<bool> write_client(std::shared_ptr<HttpConnection> self, HttpResponse res);
  // Answers a request the proxy does not forward (malformed, smuggling, too large), counts it in
  // faultline_proxy_requests_rejected_total, and closes the connection.
  static awaitable<void> refuse(std::shared_ptr<HttpConnection> self, Refusal refusal) {
    self->proxy_->counters().rejected[static_cast<std::size_t>(refusal.reason)]->Increment();
    refusal.response.keep_alive(false);
    refusal.response.prepare_payload();
    if (co_await write_client(self, std::move(refusal.response))) {
      co_await end_tls(self);
      error_code ec;
      if (!self->closing_) self->client_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
    self->close(CloseReason::client_closed);
  }
  // Before closing a TLS client connection after a complete response: close_notify, so that the
  // client reads an orderly end rather than a truncation; waits at most 1 s for the client's.
  static awaitable<void> end_tls(std::shared_ptr<HttpConnection> self) {
    if (!self->client_.is_tls() || self->closing_) co_return;
    self->client_.expires_after(std::chrono::seconds(1));
    co_await self->client_.tls().async_shutdown(use_nothrow);
    self->client_.expires_never();
  }
  void record(const HttpRequest& req, unsigned status, Clock::time_point started) {
    auto rec = proxy_->recorder();
    if (!rec) return;
    RecordedExchange e;
    e.started = started;
    e.method = std::string(req.method_string());
    e.target = std::string(req.target());
    for (const auto& f : req)
      e.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    e.body = req.body();
    e.status = status;
    e.latency_seconds = std::chrono::duration<double>(Clock::now() - started).count();
    rec->record(e);
  }

  MaybeTlsStream<beast::tcp_stream> client_;
  std::optional<MaybeTlsStream<beast::tcp_stream>> upstream_;
  std::shared_ptr<const TlsRuntime> tls_;  // the proxy's TLS when the connection started
  beast::flat_buffer cbuf_;                // client bytes read ahead (pipelined requests)
  beast::flat_buffer ubuf_;                // upstream bytes read ahead
  asio::steady_timer timer_;
  bool closing_ = false;
};

void HttpConnection::header_faults(const HttpRequest& req, std::vector<PickedFault>& faults,
                                   Rng& rng) {
  // As Envoy's fault filter: a -percentage header from 0 to 100 applies, capped at the proxy's
  // header_fault_percentage; absent, or anything else (negative, NaN, 150, "abc"), the proxy's
  // percentage applies instead (it used to mean 100 %).
  const int configured = proxy_->header_fault_percentage();
  auto draw = [&](std::string_view pct_header) {
    std::int64_t pct = configured;
    if (auto given = header_int(req, pct_header); given && *given <= 100)
      pct = std::min<std::int64_t>(*given, configured);
    if (pct >= 100) return true;
    // Exact integer threshold: percent p of 2^53.
    const std::uint64_t threshold =
        static_cast<std::uint64_t>(pct) * ((std::uint64_t{1} << 53) / 100);
    return (rng.next() >> 11) < threshold;
  };
  if (auto status = header_int(req, "x-faultline-abort")) {
    if (*status >= 200 && *status <= 599 && draw("x-faultline-abort-percentage")) {
      if (auto slot = proxy_->acquire_fault()) {
        RequestFault f;
        f.kind = RequestFault::Kind::error;
        f.status = static_cast<unsigned>(*status);
        f.body = json{{"error", "injected by faultline (x-faultline-abort)"}, {"status", *status}}
                     .dump();
        proxy_->env().metrics.faults(proxy_->name(), "http_error")->Increment();
        faults.push_back(PickedFault{std::move(f), std::move(*slot), "http_error"});
      }
    }
  }
  if (auto ms = header_int(req, "x-faultline-delay-ms")) {
    if (draw("x-faultline-delay-ms-percentage")) {
      if (auto slot = proxy_->acquire_fault()) {
        RequestFault f;
        f.kind = RequestFault::Kind::delay;
        f.delay = millis(std::min(*ms, kMaxDurationMs));  // the range of http_delay's `delay`
        proxy_->env().metrics.faults(proxy_->name(), "http_delay")->Increment();
        faults.push_back(PickedFault{std::move(f), std::move(*slot), "http_delay"});
      }
    }
  }
}

awaitable<bool> HttpConnection::write_client(std::shared_ptr<HttpConnection> self,
                                             HttpResponse res) {
  self->client_.expires_after(self->proxy_->env().idle_timeout);
  auto [ec, n] = co_await http::async_write(self->client_, res, use_nothrow);
  self->client_.expires_never();
  if (ec) {
    self->close(CloseReason::client_closed);
    co_return false;
  }
  self->proxy_->counters().bytes_downstream->Increment(static_cast<double>(n));
  co_return true;
}

awaitable<std::optional<Incoming>> HttpConnection::read_request(
    std::shared_ptr<HttpConnection> self) {
  http::request_parser<http::string_body> rp;
  rp.header_limit(kHeaderLimit);
  rp.body_limit(kBodyLimit);
  self->client_.expires_after(self->proxy_->env().idle_timeout);
  auto [hec, hn] = co_await read_request_head(self->client_, self->cbuf_, rp);
  if (self->closing_) co_return std::nullopt;
  if (hec) {
    self->client_.expires_never();
    if (auto refusal = refusal_for(hec, 11)) {
      co_await refuse(self, std::move(*refusal));
      co_return std::nullopt;
    }
    self->close(hec == beast::error::timeout ? CloseReason::idle_timeout
                                             : CloseReason::client_closed);
    co_return std::nullopt;
  }
  // Smuggling attempts are answered (400/501) and the connection closed, as faultline's own
  // server does: never forwarded, whatever the upstream would make of them.
  if (auto refusal = framing_refusal(rp.get())) {
    self->client_.expires_never();
    co_await refuse(self, std::move(*refusal));
    co_return std::nullopt;
  }
  if (rp.get()[http::field::expect] == "100-continue") {
    http::response<http::empty_body> cont{http::status::continue_, rp.get().version()};
    auto [cec, cn] = co_await http::async_write(self->client_, cont, use_nothrow);
    if (cec) {
      self->close(CloseReason::client_closed);
      co_return std::nullopt;
    }
  }
  auto [bec, bn] = co_await http::async_read(self->client_, self->cbuf_, rp, use_nothrow);
  self->client_.expires_never();
  if (self->closing_) co_return std::nullopt;
  if (bec) {
    if (auto refusal = refusal_for(bec, rp.get().version())) {
      co_await refuse(self, std::move(*refusal));
      co_return std::nullopt;
    }
    self->close(CloseReason::client_closed);
    co_return std::nullopt;
  }
  Incoming in{rp.release(), hn + bn};
  in.req.erase(http::field::expect);
  co_return std::optional<Incoming>(std::move(in));
}

std::vector<PickedFault> HttpConnection::pick_faults(HttpRequest& req, RequestFaultPicker& picker) {
  RequestInfo info{req.method_string(), req.target(),
                   [&req](std::string_view name) -> std::optional<std::string_view> {
                     auto it = req.find(name);
                     if (it == req.end()) return std::nullopt;
                     return it->value();
                   }};
  auto faults = picker.pick(info);
  if (proxy_->header_faults()) {
    header_faults(req, faults, picker.rng());
    for (const char* h : {"x-faultline-abort", "x-faultline-abort-percentage",
                          "x-faultline-delay-ms", "x-faultline-delay-ms-percentage"})
      req.erase(h);
  }
  return faults;
}

awaitable<void> HttpConnection::run(std::shared_ptr<HttpConnection> self, std::uint64_t seed) {
  Proxy& proxy = *self->proxy_;
  self->tls_ = proxy.tls();
  if (self->tls_ && self->tls_->server) {
    Rng chaos_rng(seed ^ 0x5851f42d4c957f2dULL);  // apart from the request draws
    if (!co_await accept_tls(proxy, *self->tls_, self->client_, chaos_rng)) {
      self->close(CloseReason::tls_failed);
      co_return;
    }
    if (self->closing_) co_return;
  }
  RequestFaultPicker picker(proxy, seed);
  for (;;) {
    auto in = co_await read_request(self);
    if (!in) co_return;
    const auto started = Clock::now();
    proxy.counters().requests->Increment();
    proxy.counters().bytes_upstream->Increment(static_cast<double>(in->bytes));

    // Held until the exchange is over: each picked fault keeps its max_active_faults slot.
    const std::vector<PickedFault> faults = self->pick_faults(in->req, picker);
    const RequestPlan plan = plan_of(faults);
    if (!co_await self->inject_delay(plan.delay_request)) co_return;
    using K = RequestFault::Kind;
    const RequestFault* terminal = plan.terminal;
    Next next = Next::stop;
    if (terminal &&
        (terminal->kind == K::abort || terminal->kind == K::hang || terminal->kind == K::error)) {
      next = co_await answer_locally(self, std::move(in->req), *terminal, plan.delay_response,
                                     started);
    } else {
      const bool abort_after_forward = terminal && terminal->kind == K::abort_upstream;
      next = co_await forward(self, std::move(in->req), plan.delay_response, abort_after_forward,
                              started);
    }
    if (next == Next::stop) co_return;
  }
}

awaitable<Next> HttpConnection::answer_locally(std::shared_ptr<HttpConnection> self,
                                               HttpRequest req, RequestFault fault,
                                               Clock::duration delay_response,
                                               Clock::time_point started) {
  if (fault.kind == RequestFault::Kind::abort) {
    self->close(CloseReason::fault);
    co_return Next::stop;
  }
  if (fault.kind == RequestFault::Kind::hang) {
    // Read and discard until the client leaves (or the idle timeout passes).
    for (;;) {
      self->client_.expires_after(self->proxy_->env().idle_timeout);
      auto [rec, rn] =
          co_await self->client_.async_read_some(self->cbuf_.prepare(4096), use_nothrow);
      if (self->closing_) co_return Next::stop;
      if (rec) break;
      self->cbuf_.consume(self->cbuf_.size());
    }
    self->close(CloseReason::fault);
    co_return Next::stop;
  }
  // An error response made here.
  const bool keep_alive = req.keep_alive();
  HttpResponse res = error_response(fault, req.version(), keep_alive);
  if (!co_await self->inject_delay(delay_response)) co_return Next::stop;
  self->record(req, fault.status, started);  // before the write: readers see it on reply
  // The write and its keep-alive tail stay inline here and in forward(): a shared helper
  // coroutine taking the response by value and passing it on to write_client crashed in the
  // message's move (GCC 12 build; cause not isolated).
  // Serialized here, not by Beast: the reason phrase of any status, and no body for 204/304.
  // A HEAD request gets the head alone (same Content-Length): a body would be read by a
  // keep-alive client as the start of its next response.
  const bool head_only = req.method() == http::verb::head;
  const std::string wire =
      serialize_head(res.version(), fault.status, {}, res) + (head_only ? "" : res.body());
  self->client_.expires_after(self->proxy_->env().idle_timeout);
  auto [wec, wn] = co_await asio::async_write(self->client_, asio::buffer(wire), use_nothrow);
  self->client_.expires_never();
  if (wec) {
    self->close(CloseReason::client_closed);
    co_return Next::stop;
  }
  self->proxy_->counters().bytes_downstream->Increment(static_cast<double>(wn));
  if (!keep_alive) {
    co_await end_tls(self);
    self->close(CloseReason::client_closed);
    co_return Next::stop;
  }
  co_return Next::next_request;
}

awaitable<bool> HttpConnection::send_upstream(std::shared_ptr<HttpConnection> self,
                                              HttpRequest& req) {
  // A kept-alive upstream connection may have been closed by the server meanwhile: one fresh
  // connection is tried before giving up.
  Proxy& proxy = *self->proxy_;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!self->upstream_) {
      auto [cec, sock] = co_await connect_upstream(proxy.upstream(), proxy.env().connect_timeout);
      if (self->closing_) co_return false;
      if (cec) {
        proxy.counters().connect_errors->Increment();
        co_return false;
      }
      self->upstream_.emplace(beast::tcp_stream(std::move(sock)));
      error_code ig;
      self->upstream_->socket().set_option(tcp::no_delay(true), ig);
      self->ubuf_.clear();
      if (self->tls_ && self->tls_->client &&
          !co_await originate_tls(proxy, *self->tls_, *self->upstream_, proxy.upstream())) {
        self->upstream_.reset();
        co_return false;
      }
      if (self->closing_) co_return false;
    }
    self->upstream_->expires_after(proxy.env().idle_timeout);
    auto [wec, wn] = co_await http::async_write(*self->upstream_, req, use_nothrow);
    if (self->closing_) co_return false;
    if (!wec) co_return true;
    self->upstream_.reset();
  }
  co_return false;
}

awaitable<Next> HttpConnection::forward(std::shared_ptr<HttpConnection> self, HttpRequest req,
                                        Clock::duration delay_response, bool abort_after_forward,
                                        Clock::time_point started) {
  const bool keep_alive = req.keep_alive();
  if (!co_await send_upstream(self, req)) {
    if (self->closing_) co_return Next::stop;
    auto res = json_error(http::status::bad_gateway, "upstream unreachable", req.version());
    res.keep_alive(keep_alive);
    self->record(req, 502, started);
    if (!co_await write_client(self, std::move(res))) co_return Next::stop;
    if (!keep_alive) {
      self->close(CloseReason::client_closed);
      co_return Next::stop;
    }
    co_return Next::next_request;
  }
  if (abort_after_forward) {
    self->close(CloseReason::fault);
    co_return Next::stop;
  }
  // 1xx interim responses (100 Continue, 103 Early Hints) are relayed as they come (not to an
  // HTTP/1.0 client, RFC 9110 15.2), then the final response is read with a fresh parser.
  std::optional<http::response_parser<http::string_body>> parser;
  error_code rec;
  for (;;) {
    parser.emplace();
    parser->header_limit(kHeaderLimit);
    parser->body_limit(kBodyLimit);
    if (req.method() == http::verb::head) parser->skip(true);
    auto [pec, pn] = co_await http::async_read(*self->upstream_, self->ubuf_, *parser, use_nothrow);
    if (self->closing_) co_return Next::stop;
    rec = pec;
    const unsigned code = pec ? 0u : parser->get().result_int();
    if (pec || code < 100 || code > 199 || code == 101) break;
    if (req.version() < 11) continue;
    const auto& interim = parser->get();
    const std::string wire =
        serialize_head(interim.version(), code, interim.reason(), interim.base());
    auto [iec, in] = co_await asio::async_write(self->client_, asio::buffer(wire), use_nothrow);
    if (self->closing_) co_return Next::stop;
    if (iec) {
      self->close(CloseReason::client_closed);
      co_return Next::stop;
    }
    self->proxy_->counters().bytes_downstream->Increment(static_cast<double>(in));
  }
  auto& resp = *parser;
  if (rec) {
    self->upstream_.reset();
    auto res = json_error(http::status::bad_gateway,
                          "upstream closed or failed before a complete response", req.version());
    res.keep_alive(false);
    self->record(req, 502, started);
    co_await write_client(self, std::move(res));
    self->close(CloseReason::upstream_closed);
    co_return Next::stop;
  }
  self->upstream_->expires_never();
  HttpResponse res = resp.release();
  if (!res.keep_alive()) self->upstream_.reset();
  if (!co_await self->inject_delay(delay_response)) co_return Next::stop;
  const bool keep = keep_alive && res.keep_alive();
  res.keep_alive(keep);
  const unsigned status = res.result_int();
  self->record(req, status, started);
  if (!co_await write_client(self, std::move(res))) co_return Next::stop;
  if (!keep) {
    co_await end_tls(self);
    error_code ig;
    self->client_.socket().shutdown(tcp::socket::shutdown_send, ig);
    self->close(CloseReason::client_closed);
    co_return Next::stop;
  }
  co_return Next::next_request;
}

std::atomic<std::uint64_t> g_http_connections{0};

}  // namespace

void start_http_connection(std::shared_ptr<Proxy> proxy, tcp::socket client) {
  const std::uint64_t seed = connection_seed(*proxy, 0xd1b54a32d192ed03ULL, g_http_connections);
  spawn_connection<HttpConnection>(std::move(proxy), std::move(client), seed,
                                   "proxy http connection");
}

}  // namespace faultline::proxy
