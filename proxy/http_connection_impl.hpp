// The protocol-http engine's connection (private to the engine, see http_connection.hpp for its
// entry point). Its code is in two files: http_connection.cpp reads requests, forwards them and
// relays the responses; http_local_answer.cpp makes the answers the proxy gives itself (an error
// response, an abort, a hang) and draws the Envoy-style header faults.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "common/http_server.hpp"
#include "proxy/http_body.hpp"
#include "proxy/http_request_head.hpp"
#include "proxy/proxied_connection.hpp"
#include "proxy/recorder.hpp"
#include "proxy/request_faults.hpp"
#include "proxy/tls_stream.hpp"

namespace faultline::proxy {

// The most the engine buffers of a body: a recorded request's, a drained one, one http_rewrite
// needs whole. Relayed bodies have no limit.
inline constexpr std::uint64_t kBodyLimit = 64ull << 20;

// What to do after one exchange: read the client's next request, or stop (connection closed).
enum class Next { next_request, stop };

// The body faults of one exchange (pointers into the faults it holds) and the seed of their
// stages' draws.
struct BodyFaults {
  std::vector<const RequestFault*> up;    // on the request body
  std::vector<const RequestFault*> down;  // on the response body
  std::uint64_t seed = 0;
  std::vector<const RequestFault*> rewrites;  // http_rewrite, in toxic order
};

// A client request's head, and the parser that reads it and then its body as it is relayed.
using RequestHead = http::request_header<>;
using RequestMessage = http::request<http::buffer_body>;
using RequestParser = http::request_parser<http::buffer_body>;

// The response of an `error` fault: its status, headers and body (typed JSON when it looks like
// JSON and the fault set no content-type).
HttpResponse error_response(const RequestFault& f, unsigned version, bool keep_alive);

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
  // Reads the next request's head into request_ (answering "Expect: 100-continue"; with
  // recording, its body too, into request_body_); false once the connection is closed (by the
  // client, the idle timeout, a refusal, or close()).
  static awaitable<bool> read_request(std::shared_ptr<HttpConnection> self);
  // How reading the rest of a request body ended.
  enum class BodyRead {
    done,       // read to its end
    too_large,  // over kBodyLimit: not read further (the connection cannot be kept alive)
    failed,     // the body ended early (the connection is closed, a refusal sent when malformed)
  };
  // Reads the rest of the current request's body from the client, appended to `keep` when set
  // (recording), else discarded (a drain before a local answer), up to kBodyLimit bytes.
  static awaitable<BodyRead> read_request_body(std::shared_ptr<HttpConnection> self,
                                               std::string* keep);
  // The faults for `req`: its toxics' draws plus, when the proxy enables them, the header faults
  // (whose headers are then removed from `req`).
  std::vector<PickedFault> pick_faults(RequestHead& req, RequestFaultPicker& picker);
  // A terminal fault that never reaches the upstream: abort, hang, or a local error response
  // (after `delay_response`, and after the request body was read).
  static awaitable<Next> answer_locally(std::shared_ptr<HttpConnection> self, RequestFault fault,
                                        Clock::duration delay_response, Clock::time_point started);
  // Forwards the current request (its body as it arrives) and relays the response (after
  // `delay_response`), each body through its `body` faults; `abort_after_forward` cuts the
  // connection instead of answering (abort_upstream).
  static awaitable<Next> forward(std::shared_ptr<HttpConnection> self,
                                 Clock::duration delay_response, bool abort_after_forward,
                                 BodyFaults body, Clock::time_point started);
  // http_rewrite (http_rewrite_relay.cpp): applies the `rewrites` whose response rules match
  // `res` to its head (`reason` cleared with a new status) and, reading the body from `body`
  // first when one changes it, to its body (`body.prefix`, `framing` then a Content-Length);
  // false when the upstream failed while its body was read (or the connection closed).
  static awaitable<bool> rewrite_response(std::shared_ptr<HttpConnection> self,
                                          const std::vector<const RequestFault*>& rewrites,
                                          bool head_request, http::response_header<>& res,
                                          std::string& reason, BodyFraming& framing,
                                          PrefixedSource& body);
  // The upstream closed or failed before a complete response (head, or a body a rewrite needed):
  // the client gets a 502 and the connection is closed.
  static awaitable<Next> upstream_failed(std::shared_ptr<HttpConnection> self,
                                         const RequestMessage& req, Clock::time_point started);
  // A WebSocket upgrade request (http_websocket.cpp): a fresh upstream connection and its
  // handshake, then the client's, then the frames relayed until either side ends. The upstream's
  // refusal is relayed as an ordinary response; the connection ends after a relayed WebSocket.
  static awaitable<Next> websocket(std::shared_ptr<HttpConnection> self,
                                   Clock::duration delay_response, bool abort_after_handshake,
                                   RequestFaultPicker& picker, Clock::time_point started);
  // Connects to the upstream (and originates TLS when configured) as upstream_; false when it
  // cannot be reached or the connection was closed meanwhile.
  static awaitable<bool> dial_upstream(std::shared_ptr<HttpConnection> self);
  // Sends a request `head` upstream, dialling (once more, if a kept-alive connection went stale)
  // as needed; false when the upstream cannot be reached or the connection was closed meanwhile.
  static awaitable<bool> send_upstream(std::shared_ptr<HttpConnection> self, std::string head);
  // Relays the current request's body to the upstream (from request_body_ when recording kept
  // it) through `faults`.
  static awaitable<RelayEnd> send_request_body(std::shared_ptr<HttpConnection> self,
                                               BodyPipeline* faults);
  // After a body fault cut a body (http_body_truncate): counted; `reset` sets the socket that is
  // closed next to send a TCP RST.
  void body_cut(tcp::socket& socket, bool reset) {
    proxy_->counters().bodies_truncated[static_cast<std::size_t>(TruncatedBy::fault)]->Increment();
    error_code ec;
    if (reset) socket.set_option(asio::socket_base::linger(true, 0), ec);
  }
  void close(CloseReason reason) {
    if (closing_) return;
    closing_ = true;
    reason_ = reason;
    error_code ec;
    client_.socket().close(ec);
    if (upstream_) upstream_->socket().close(ec);
    timer_.cancel();
    if (on_close_) std::exchange(on_close_, nullptr)();
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
  void header_faults(const RequestHead& req, std::vector<PickedFault>& faults, Rng& rng);
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
  void record(const RequestHead& req, unsigned status, Clock::time_point started) {
    auto rec = proxy_->recorder();
    if (!rec) return;
    RecordedExchange e;
    e.started = started;
    e.method = std::string(req.method_string());
    e.target = std::string(req.target());
    for (const auto& f : req)
      e.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    e.body = request_body_;
    e.status = status;
    e.latency_seconds = std::chrono::duration<double>(Clock::now() - started).count();
    rec->record(e);
  }

  MaybeTlsStream<beast::tcp_stream> client_;
  std::optional<MaybeTlsStream<beast::tcp_stream>> upstream_;
  std::function<void()> on_close_;         // a relayed WebSocket's: stops its staged writers
  std::shared_ptr<const TlsRuntime> tls_;  // the proxy's TLS when the connection started
  beast::flat_buffer cbuf_;                // client bytes read ahead (pipelined requests)
  beast::flat_buffer ubuf_;                // upstream bytes read ahead
  std::unique_ptr<char[]> body_buffer_;    // response bodies: kBodyBufferSize, at the first body
  std::optional<RequestParser> request_;   // the current request (head, then its body)
  BodyFraming request_framing_ = BodyFraming::none;  // how its body goes to the upstream
  std::string request_body_;                         // its body, when recording kept it
  bool request_body_kept_ = false;
  std::unique_ptr<char[]> upload_buffer_;  // request bodies: kBodyBufferSize, at the first body
  asio::steady_timer timer_;
  bool closing_ = false;
};

}  // namespace faultline::proxy
