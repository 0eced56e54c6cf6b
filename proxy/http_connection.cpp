// The protocol-http engine: requests and responses parsed with Beast on both sides, their
// bodies relayed as they arrive (http_body.hpp), keep-alive preserved (one upstream connection
// per client connection, dialled at the first request), and request faults applied per exchange:
// toxics (http_error, http_delay, http_abort, latency, hang, blackout, abort, transient) plus,
// when the proxy enables them, Envoy-style header faults. Every exchange can be recorded as one
// JSON line. The answers the proxy makes itself are in http_local_answer.cpp; WebSocket upgrades
// are taken over by http_websocket.cpp.
#include "proxy/http_connection.hpp"

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "proxy/http_body.hpp"
#include "proxy/http_connection_impl.hpp"
#include "proxy/http_request_head.hpp"
#include "proxy/http_wire.hpp"
#include "proxy/tcp_connection.hpp"

namespace faultline::proxy {

namespace {

constexpr std::uint32_t kHeaderLimit = 64 * 1024;

std::atomic<std::uint64_t> g_http_connections{0};

}  // namespace

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

awaitable<bool> HttpConnection::read_request(std::shared_ptr<HttpConnection> self) {
  Proxy& proxy = *self->proxy_;
  self->request_.emplace();
  RequestParser& rp = *self->request_;
  rp.header_limit(kHeaderLimit);
  rp.body_limit(boost::none);  // relayed as it arrives; kBodyLimit where it is read whole
  self->request_body_.clear();
  self->request_body_kept_ = false;
  self->client_.expires_after(proxy.env().idle_timeout);
  auto [hec, hn] = co_await read_request_head(self->client_, self->cbuf_, rp);
  self->client_.expires_never();
  if (self->closing_) co_return false;
  if (hec) {
    if (auto refusal = refusal_for(hec, 11)) {
      co_await refuse(self, std::move(*refusal));
      co_return false;
    }
    self->close(hec == beast::error::timeout ? CloseReason::idle_timeout
                                             : CloseReason::client_closed);
    co_return false;
  }
  proxy.counters().bytes_upstream->Increment(static_cast<double>(hn));
  // Smuggling attempts are answered (400/501) and the connection closed, as faultline's own
  // server does: never forwarded, whatever the upstream would make of them.
  if (auto refusal = framing_refusal(rp.get())) {
    co_await refuse(self, std::move(*refusal));
    co_return false;
  }
  if (rp.get()[http::field::expect] == "100-continue") {
    http::response<http::empty_body> cont{http::status::continue_, rp.get().version()};
    self->client_.expires_after(proxy.env().idle_timeout);
    auto [cec, cn] = co_await http::async_write(self->client_, cont, use_nothrow);
    self->client_.expires_never();
    if (self->closing_) co_return false;
    if (cec) {
      self->close(CloseReason::client_closed);
      co_return false;
    }
  }
  rp.get().erase(http::field::expect);
  // The body goes upstream as it came: re-chunked when chunked, else as it is (a
  // Content-Length); a request without either has none (RFC 9112 6.3).
  self->request_framing_ = rp.is_done()   ? BodyFraming::none
                           : rp.chunked() ? BodyFraming::chunked
                                          : BodyFraming::raw;
  if (proxy.recorder()) {
    // Recording keeps the request body, so it is read whole first (up to 64 MiB, else 413) and
    // forwarded from memory.
    const BodyRead read = co_await read_request_body(self, &self->request_body_);
    if (read == BodyRead::failed) co_return false;
    if (read == BodyRead::too_large) {
      co_await refuse(self, *refusal_for(http::error::body_limit, rp.get().version()));
      co_return false;
    }
    self->request_body_kept_ = true;
  }
  co_return true;
}

awaitable<HttpConnection::BodyRead> HttpConnection::read_request_body(
    std::shared_ptr<HttpConnection> self, std::string* keep) {
  RequestParser& rp = *self->request_;
  if (rp.is_done()) co_return BodyRead::done;
  if (!self->upload_buffer_) self->upload_buffer_ = std::make_unique<char[]>(kBodyBufferSize);
  H1BodySource<true> source(self->client_, self->cbuf_, rp, self->upload_buffer_.get(),
                            kBodyBufferSize, self->proxy_->env().idle_timeout,
                            self->proxy_->counters().bytes_upstream);
  std::uint64_t total = 0;
  for (;;) {
    auto [ec, chunk] = co_await source.next();
    if (self->closing_) co_return BodyRead::failed;
    total += chunk.bytes.size();
    if (total > kBodyLimit) co_return BodyRead::too_large;
    if (keep) keep->append(chunk.bytes);
    if (ec) {
      if (auto refusal = refusal_for(ec, rp.get().version()))
        co_await refuse(self, std::move(*refusal));
      else
        self->close(ec == beast::error::timeout ? CloseReason::idle_timeout
                                                : CloseReason::client_closed);
      co_return BodyRead::failed;
    }
    if (chunk.last) co_return BodyRead::done;
  }
}

std::vector<PickedFault> HttpConnection::pick_faults(RequestHead& req, RequestFaultPicker& picker) {
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
    if (!co_await read_request(self)) co_return;
    const auto started = Clock::now();
    proxy.counters().requests->Increment();

    // Held until the exchange is over: each picked fault keeps its max_active_faults slot.
    const std::vector<PickedFault> faults = self->pick_faults(self->request_->get(), picker);
    const RequestPlan plan = plan_of(faults);
    if (!co_await self->inject_delay(plan.delay_request)) co_return;
    using K = RequestFault::Kind;
    const RequestFault* terminal = plan.terminal;
    Next next = Next::stop;
    if (terminal &&
        (terminal->kind == K::abort || terminal->kind == K::hang || terminal->kind == K::error)) {
      next = co_await answer_locally(self, *terminal, plan.delay_response, started);
    } else if (is_websocket_upgrade(self->request_->get())) {
      next = co_await websocket(self, plan.delay_response,
                                terminal && terminal->kind == K::abort_upstream, picker, started);
    } else {
      // A protocol switch the proxy cannot relay (h2c, ...) is not asked of the upstream.
      strip_upgrade(self->request_->get());
      const bool abort_after_forward = terminal && terminal->kind == K::abort_upstream;
      // Drawn only when there are body faults, so that the draws of the others stay as they were.
      BodyFaults body{plan.body_up, plan.body_down, 0, plan.rewrites};
      if (!body.up.empty() || !body.down.empty()) body.seed = picker.rng().next();
      next = co_await forward(self, plan.delay_response, abort_after_forward, std::move(body),
                              started);
    }
    if (next == Next::stop) co_return;
  }
}

awaitable<bool> HttpConnection::dial_upstream(std::shared_ptr<HttpConnection> self) {
  Proxy& proxy = *self->proxy_;
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
  co_return !self->closing_;
}

awaitable<bool> HttpConnection::send_upstream(std::shared_ptr<HttpConnection> self,
                                              std::string head) {
  // A kept-alive upstream connection may have been closed by the server meanwhile: one fresh
  // connection is tried before giving up.
  Proxy& proxy = *self->proxy_;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!self->upstream_ && !co_await dial_upstream(self)) co_return false;
    self->upstream_->expires_after(proxy.env().idle_timeout);
    auto [wec, wn] = co_await asio::async_write(*self->upstream_, asio::buffer(head), use_nothrow);
    self->upstream_->expires_never();
    if (self->closing_) co_return false;
    if (!wec) co_return true;
    self->upstream_.reset();
  }
  co_return false;
}

awaitable<RelayEnd> HttpConnection::send_request_body(std::shared_ptr<HttpConnection> self,
                                                      BodyPipeline* faults) {
  const auto idle = self->proxy_->env().idle_timeout;
  H1BodySink sink(*self->upstream_, std::string(), self->request_framing_, idle);
  if (self->request_body_kept_) {
    StringSource source(self->request_body_);
    co_return co_await relay_body(source, sink, self->closing_, faults, &self->timer_);
  }
  if (!self->request_->is_done() && !self->upload_buffer_)
    self->upload_buffer_ = std::make_unique<char[]>(kBodyBufferSize);
  H1BodySource<true> source(self->client_, self->cbuf_, *self->request_, self->upload_buffer_.get(),
                            kBodyBufferSize, idle, self->proxy_->counters().bytes_upstream);
  co_return co_await relay_body(source, sink, self->closing_, faults, &self->timer_);
}

awaitable<Next> HttpConnection::upstream_failed(std::shared_ptr<HttpConnection> self,
                                                const RequestMessage& req,
                                                Clock::time_point started) {
  self->upstream_.reset();
  auto res = json_error(http::status::bad_gateway,
                        "upstream closed or failed before a complete response", req.version());
  res.keep_alive(false);
  self->record(req, 502, started);
  co_await write_client(self, std::move(res));
  self->close(CloseReason::upstream_closed);
  co_return Next::stop;
}

awaitable<Next> HttpConnection::forward(std::shared_ptr<HttpConnection> self,
                                        Clock::duration delay_response, bool abort_after_forward,
                                        BodyFaults body, Clock::time_point started) {
  const RequestMessage& req = self->request_->get();
  const bool keep_alive = req.keep_alive();
  if (!co_await send_upstream(
          self, serialize_request_head(req.method_string(), req.target(), req.version(), req))) {
    if (self->closing_) co_return Next::stop;
    // Nothing of the body was read yet: it is read (and discarded) before the 502, so that the
    // connection stays in step for the client's next request.
    bool keep = keep_alive;
    const BodyRead drained = co_await read_request_body(self, nullptr);
    if (drained == BodyRead::failed) co_return Next::stop;
    if (drained == BodyRead::too_large) keep = false;
    auto res = json_error(http::status::bad_gateway, "upstream unreachable", req.version());
    res.keep_alive(keep);
    self->record(req, 502, started);
    if (!co_await write_client(self, std::move(res))) co_return Next::stop;
    if (!keep) {
      self->close(CloseReason::client_closed);
      co_return Next::stop;
    }
    co_return Next::next_request;
  }
  // The body, as it arrives from the client.
  Rng body_rng(body.seed);
  BodyPipeline up_faults(body.up, body_rng, Clock::now());
  const RelayEnd upload = co_await send_request_body(self, &up_faults);
  if (upload.added_delay.count() > 0) count_injected_delay(*self->proxy_, upload.added_delay);
  bool upload_cut = false;
  switch (upload.how) {
    case RelayEnd::closing:
      co_return Next::stop;
    case RelayEnd::source_failed:
      // The client's body ended early (it left, stalled past the idle timeout, or sent a
      // malformed chunk): the upstream has part of a request, so its connection goes too.
      self->upstream_.reset();
      if (auto refusal = refusal_for(upload.ec, req.version()))
        co_await refuse(self, std::move(*refusal));
      else
        self->close(upload.ec == beast::error::timeout ? CloseReason::idle_timeout
                                                       : CloseReason::client_closed);
      co_return Next::stop;
    case RelayEnd::sink_failed:
      // The upstream stopped taking the body: it may have answered early (a 413) and closed.
      // Its answer, if there is one, is relayed; neither connection is kept.
      upload_cut = true;
      break;
    case RelayEnd::truncated_by_fault: {
      // http_body_truncate on the request: the upstream gets part of the body and the end of
      // its connection; the client, once the rest of its body is read (and discarded), a 502.
      self->body_cut(self->upstream_->socket(), upload.reset);
      self->upstream_.reset();
      bool keep = keep_alive;
      const BodyRead drained = co_await read_request_body(self, nullptr);
      if (drained == BodyRead::failed) co_return Next::stop;
      if (drained == BodyRead::too_large) keep = false;
      auto res = json_error(http::status::bad_gateway,
                            "upstream connection closed during the request body", req.version());
      res.keep_alive(keep);
      self->record(req, 502, started);
      if (!co_await write_client(self, std::move(res))) co_return Next::stop;
      if (keep) co_return Next::next_request;
      self->close(CloseReason::fault);
      co_return Next::stop;
    }
    case RelayEnd::complete:
      break;
  }
  if (abort_after_forward) {
    self->close(CloseReason::fault);
    co_return Next::stop;
  }
  // 1xx interim responses (100 Continue, 103 Early Hints) are relayed as they come (not to an
  // HTTP/1.0 client, RFC 9110 15.2); then the final response's head is read, each with a fresh
  // parser, and its body relayed as it arrives.
  Proxy& proxy = *self->proxy_;
  const auto idle = proxy.env().idle_timeout;
  std::optional<http::response_parser<http::buffer_body>> parser;
  error_code rec;
  for (;;) {
    parser.emplace();
    parser->header_limit(kHeaderLimit);
    parser->body_limit(boost::none);  // relayed, never buffered: no cap
    if (req.method() == http::verb::head) parser->skip(true);
    self->upstream_->expires_after(idle);
    auto [pec, pn] =
        co_await http::async_read_header(*self->upstream_, self->ubuf_, *parser, use_nothrow);
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
    proxy.counters().bytes_downstream->Increment(static_cast<double>(in));
  }
  self->upstream_->expires_never();
  if (rec) co_return co_await upstream_failed(self, req, started);
  auto& res = parser->get();
  if (res.result_int() == 101) {
    // Switching protocols without a WebSocket upgrade asked (the request's Upgrade was removed):
    // nothing the proxy can relay.
    self->upstream_.reset();
    auto bad =
        json_error(http::status::bad_gateway, "upstream switched protocols unasked", req.version());
    bad.keep_alive(false);
    self->record(req, 502, started);
    co_await write_client(self, std::move(bad));
    self->close(CloseReason::upstream_closed);
    co_return Next::stop;
  }
  // How the body reaches the client: as it came (a Content-Length, or up to the upstream's
  // close), re-chunked (chunked), or, to an HTTP/1.0 client that cannot read chunked, up to the
  // close. The upstream connection is reused only after a complete body it framed itself.
  const bool has_body = !parser->is_done();
  const bool upstream_keep = res.keep_alive() && !parser->need_eof() && !upload_cut;
  bool keep = keep_alive && upstream_keep;
  BodyFraming framing = BodyFraming::none;
  if (has_body) {
    framing = BodyFraming::raw;
    if (parser->chunked()) {
      if (req.version() >= 11) {
        framing = BodyFraming::chunked;
      } else {
        res.chunked(false);
        keep = false;
      }
    }
  }
  if (has_body && !self->body_buffer_)
    self->body_buffer_ = std::make_unique<char[]>(kBodyBufferSize);
  H1BodySource<false> upstream_body(*self->upstream_, self->ubuf_, *parser,
                                    self->body_buffer_.get(), kBodyBufferSize, idle);
  PrefixedSource source(upstream_body);
  std::string reason(res.reason());
  if (!body.rewrites.empty() &&
      !co_await rewrite_response(self, body.rewrites, req.method() == http::verb::head, res, reason,
                                 framing, source)) {
    if (self->closing_) co_return Next::stop;
    co_return co_await upstream_failed(self, req, started);
  }
  if (!co_await self->inject_delay(delay_response)) co_return Next::stop;
  res.keep_alive(keep);
  const unsigned status = res.result_int();
  self->record(req, status, started);
  H1BodySink sink(self->client_, serialize_head(res.version(), status, reason, res.base()), framing,
                  idle, proxy.counters().bytes_downstream);
  BodyPipeline down_faults(body.down, body_rng, Clock::now(),
                           is_media_type(res[http::field::content_type], "text/event-stream"),
                           proxy.counters().sse_oversized);
  const RelayEnd end =
      co_await relay_body(source, sink, self->closing_, &down_faults, &self->timer_);
  if (end.added_delay.count() > 0) count_injected_delay(proxy, end.added_delay);
  switch (end.how) {
    case RelayEnd::closing:
      co_return Next::stop;
    case RelayEnd::sink_failed:
      self->close(end.ec == beast::error::timeout ? CloseReason::idle_timeout
                                                  : CloseReason::client_closed);
      co_return Next::stop;
    case RelayEnd::source_failed:
      // The upstream died (or stalled past the idle timeout) mid-body: the client's connection
      // is closed without the rest, as a dying server's would be, so the client sees the
      // truncation (no last chunk, short of the Content-Length).
      proxy.counters()
          .bodies_truncated[static_cast<std::size_t>(TruncatedBy::upstream)]
          ->Increment();
      self->close(end.ec == beast::error::timeout ? CloseReason::idle_timeout
                                                  : CloseReason::upstream_closed);
      co_return Next::stop;
    case RelayEnd::truncated_by_fault:
      // http_body_truncate: the client's connection ends mid-body (FIN, or RST), as a dying
      // server's would; the upstream's, whose body was not all read, goes too.
      self->body_cut(self->client_.socket(), end.reset);
      self->close(CloseReason::fault);
      co_return Next::stop;
    case RelayEnd::complete:
      break;
  }
  if (!upstream_keep) self->upstream_.reset();
  if (!keep) {
    co_await end_tls(self);
    error_code ig;
    self->client_.socket().shutdown(tcp::socket::shutdown_send, ig);
    self->close(CloseReason::client_closed);
    co_return Next::stop;
  }
  co_return Next::next_request;
}

void start_http_connection(std::shared_ptr<Proxy> proxy, tcp::socket client) {
  const std::uint64_t seed = connection_seed(*proxy, 0xd1b54a32d192ed03ULL, g_http_connections);
  spawn_connection<HttpConnection>(std::move(proxy), std::move(client), seed,
                                   "proxy http connection");
}

}  // namespace faultline::proxy
