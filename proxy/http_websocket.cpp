// WebSocket upgrades through the http engine (docs/proxy.md "WebSocket"): the upgrade request
// already went through its request faults (a local answer, a delay); here the proxy opens a
// fresh upstream connection, makes the WebSocket handshake with it (the client's end-to-end
// headers passed, no permessage-deflate), relays a refusal as an ordinary response, accepts the
// client's handshake with the upstream's 101 fields (Sec-WebSocket-Protocol, Set-Cookie, ...),
// then relays frames (ws_relay.hpp) until either side ends.
#include <boost/beast/http/field.hpp>

#include "proxy/http_connection_impl.hpp"
#include "proxy/http_wire.hpp"
#include "proxy/ws_relay.hpp"

namespace faultline::proxy {

namespace {

// Fields the proxy's own WebSocket handshakes make (or must not pass): hop-by-hop, framing,
// the handshake's own, and the proxy's control headers.
bool handshake_field(std::string_view name) {
  static constexpr std::string_view kOwn[] = {"host",
                                              "connection",
                                              "upgrade",
                                              "keep-alive",
                                              "proxy-connection",
                                              "te",
                                              "trailer",
                                              "transfer-encoding",
                                              "content-length",
                                              "sec-websocket-key",
                                              "sec-websocket-version",
                                              "sec-websocket-extensions",
                                              "sec-websocket-accept"};
  for (auto own : kOwn)
    if (beast::iequals(name, own)) return true;
  return name.size() >= 12 && beast::iequals(name.substr(0, 12), "x-faultline-");
}

template <class From, class To>
void copy_end_to_end(const From& from, To& to) {
  for (const auto& f : from)
    if (!handshake_field(f.name_string())) to.insert(f.name_string(), f.value());
}

}  // namespace

awaitable<Next> HttpConnection::websocket(std::shared_ptr<HttpConnection> self,
                                          Clock::duration delay_response,
                                          bool abort_after_handshake, RequestFaultPicker& picker,
                                          Clock::time_point started) {
  Proxy& proxy = *self->proxy_;
  const ProxyCounters& counters = proxy.counters();
  const RequestMessage& req = self->request_->get();
  auto outcome = [&counters](WsOutcome o) {
    counters.ws_upgrades[static_cast<std::size_t>(o)]->Increment();
  };
  auto fail = [&](http::status status, std::string_view why) -> awaitable<Next> {
    outcome(WsOutcome::failed);
    auto res = json_error(status, why, req.version());
    res.keep_alive(false);
    self->record(req, static_cast<unsigned>(status), started);
    co_await write_client(self, std::move(res));
    self->close(status == http::status::bad_gateway ? CloseReason::upstream_closed
                                                    : CloseReason::client_closed);
    co_return Next::stop;
  };
  // Frames before the 101 (RFC 6455 4.1 forbids them): Beast's accept cannot take them over.
  if (self->cbuf_.size() != 0)
    co_return co_await fail(http::status::bad_request,
                            "data after a WebSocket upgrade request, before its response");

  // A fresh upstream connection: a kept-alive one stays an HTTP one.
  self->upstream_.reset();
  if (!co_await dial_upstream(self)) {
    if (self->closing_) co_return Next::stop;
    co_return co_await fail(http::status::bad_gateway, "upstream unreachable");
  }
  const auto handshake = std::chrono::duration_cast<Clock::duration>(proxy.env().connect_timeout);
  std::optional<WsStream> upstream_ws;
  upstream_ws.emplace(*self->upstream_);
  configure_ws(*upstream_ws, handshake);
  upstream_ws->set_option(websocket::stream_base::decorator([&req](websocket::request_type& r) {
    r.erase(http::field::user_agent);  // Beast's own; the client's is copied
    copy_end_to_end(req, r);
  }));
  std::string host(req[http::field::host]);
  if (host.empty()) host = proxy.upstream();
  websocket::response_type up_res;
  self->upstream_->expires_never();
  auto [hec] = co_await upstream_ws->async_handshake(up_res, host, req.target(), use_nothrow);
  if (self->closing_) co_return Next::stop;
  if (hec == websocket::error::upgrade_declined) {
    // The upstream's answer (its body read whole by Beast, at most 8 MiB) goes to the client as
    // an ordinary response; the upstream connection is not kept.
    upstream_ws.reset();
    self->upstream_.reset();
    outcome(WsOutcome::refused);
    const bool keep = req.keep_alive();
    up_res.keep_alive(keep);
    if (up_res.result_int() != 204 && up_res.result_int() != 304) up_res.prepare_payload();
    self->record(req, up_res.result_int(), started);
    if (!co_await write_client(self, std::move(up_res))) co_return Next::stop;
    if (keep) co_return Next::next_request;
    co_await end_tls(self);
    error_code ig;
    self->client_.socket().shutdown(tcp::socket::shutdown_send, ig);
    self->close(CloseReason::client_closed);
    co_return Next::stop;
  }
  if (hec) {
    upstream_ws.reset();
    self->upstream_.reset();
    co_return co_await fail(http::status::bad_gateway, "upstream WebSocket handshake failed");
  }
  if (abort_after_handshake) {
    outcome(WsOutcome::failed);
    self->close(CloseReason::fault);
    co_return Next::stop;
  }
  if (!co_await self->inject_delay(delay_response)) co_return Next::stop;

  std::optional<WsStream> client_ws;
  client_ws.emplace(self->client_);
  configure_ws(*client_ws, handshake);
  client_ws->set_option(websocket::stream_base::decorator([&up_res](websocket::response_type& r) {
    r.erase(http::field::server);  // Beast's own; the upstream's is copied
    copy_end_to_end(up_res, r);
  }));
  self->client_.expires_never();
  auto [aec] = co_await client_ws->async_accept(req, use_nothrow);
  if (self->closing_) co_return Next::stop;
  if (aec) {
    outcome(WsOutcome::failed);
    self->close(CloseReason::client_closed);
    co_return Next::stop;
  }
  outcome(WsOutcome::relayed);
  self->record(req, 101, started);

  // The stream toxics act on the upgraded bytes from here on, drawn per direction (as on tcp).
  auto close_both = [self](CloseReason r, bool rst) {
    if (rst) {
      error_code ig;
      self->client_.socket().set_option(asio::socket_base::linger(true, 0), ig);
      if (self->upstream_)
        self->upstream_->socket().set_option(asio::socket_base::linger(true, 0), ig);
    }
    self->close(r);
  };
  auto staged_up = upstream_ws->next_layer().start(proxy, Stream::upstream, picker.rng().next(),
                                                   close_both, self);
  auto staged_down = client_ws->next_layer().start(proxy, Stream::downstream, picker.rng().next(),
                                                   close_both, self);
  self->on_close_ = [staged_up, staged_down] {
    staged_up->stop();
    staged_down->stop();
  };

  // The message behaviors: the upgrade request is what their match attributes look at, for the
  // life of the connection; each message is drawn against the current toxics.
  const RequestInfo upgrade{req.method_string(), req.target(),
                            [&req](std::string_view name) -> std::optional<std::string_view> {
                              auto it = req.find(name);
                              if (it == req.end()) return std::nullopt;
                              return it->value();
                            }};
  WsRelayContext ctx{proxy,
                     self->closing_,
                     [self](CloseReason r) { self->close(r); },
                     proxy.env().idle_timeout,
                     [&picker, &upgrade](Stream stream, bool text, std::uint64_t index) {
                       PickedMessage p = picker.pick_message(upgrade, {stream, text, index});
                       return WsMessageAction{std::move(p.fault), std::move(p.slots)};
                     },
                     std::nullopt};
  std::optional<PickedWsClose> ws_close = picker.pick_ws_close(upgrade);
  if (ws_close)
    ctx.ws_close = WsRelayContext::Close{ws_close->stream, ws_close->plan,
                                         [c = ws_close->counter] { c->Increment(); }};
  const CloseReason reason = co_await relay_websocket(*client_ws, *upstream_ws, ctx);
  self->close(reason);
  co_return Next::stop;
}

}  // namespace faultline::proxy
