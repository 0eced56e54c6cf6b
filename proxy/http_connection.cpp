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

#include "common/co_spawn.hpp"
#include "common/http_server.hpp"
#include "proxy/recorder.hpp"
#include "proxy/request_faults.hpp"
#include "proxy/tcp_connection.hpp"

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

class HttpConnection : public Connection, public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(std::shared_ptr<Proxy> proxy, tcp::socket client)
      : proxy_(std::move(proxy)), client_(std::move(client)), timer_(client_.get_executor()) {
    proxy_->counters().active->Increment();
  }
  ~HttpConnection() override {
    proxy_->remove_connection(this);
    proxy_->counters().active->Decrement();
    proxy_->counters().closed[static_cast<std::size_t>(reason_)]->Increment();
  }
  void close_async(CloseReason reason) override {
    asio::post(client_.get_executor(),
               [self = shared_from_this(), reason] { self->close(reason); });
  }
  void toxics_changed_async() override {}  // toxics are read per request

  static awaitable<void> run(std::shared_ptr<HttpConnection> self, std::uint64_t seed);

 private:
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
  // Header-triggered faults (x-faultline-abort / x-faultline-delay-ms, each with a -percentage).
  void header_faults(const HttpRequest& req, std::vector<PickedFault>& faults, Rng& rng);
  static awaitable<bool> write_client(std::shared_ptr<HttpConnection> self, HttpResponse res);
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

  std::shared_ptr<Proxy> proxy_;
  beast::tcp_stream client_;
  std::optional<beast::tcp_stream> upstream_;
  asio::steady_timer timer_;
  bool closing_ = false;
  CloseReason reason_ = CloseReason::client_closed;
};

void HttpConnection::header_faults(const HttpRequest& req, std::vector<PickedFault>& faults,
                                   Rng& rng) {
  auto draw = [&](std::string_view pct_header) {
    auto pct = header_int(req, pct_header);
    if (!pct) return true;  // no percentage: always
    // Exact integer threshold: percent p of 2^53.
    const std::uint64_t threshold = static_cast<std::uint64_t>(std::min<std::int64_t>(*pct, 100)) *
                                    ((std::uint64_t{1} << 53) / 100);
    return (rng.next() >> 11) < threshold || *pct >= 100;
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
        f.delay = std::chrono::milliseconds(*ms);
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

awaitable<void> HttpConnection::run(std::shared_ptr<HttpConnection> self, std::uint64_t seed) {
  Proxy& proxy = *self->proxy_;
  const auto idle = proxy.env().idle_timeout;
  RequestFaultPicker picker(proxy, seed);
  beast::flat_buffer cbuf;
  beast::flat_buffer ubuf;
  for (;;) {
    http::request_parser<http::string_body> rp;
    rp.header_limit(kHeaderLimit);
    rp.body_limit(kBodyLimit);
    self->client_.expires_after(idle);
    auto [hec, hn] = co_await http::async_read_header(self->client_, cbuf, rp, use_nothrow);
    if (self->closing_) co_return;
    if (hec) {
      self->close(hec == beast::error::timeout ? CloseReason::idle_timeout
                                               : CloseReason::client_closed);
      co_return;
    }
    if (rp.get()[http::field::expect] == "100-continue") {
      http::response<http::empty_body> cont{http::status::continue_, rp.get().version()};
      auto [cec, cn] = co_await http::async_write(self->client_, cont, use_nothrow);
      if (cec) {
        self->close(CloseReason::client_closed);
        co_return;
      }
    }
    auto [bec, bn] = co_await http::async_read(self->client_, cbuf, rp, use_nothrow);
    self->client_.expires_never();
    if (self->closing_) co_return;
    if (bec) {
      self->close(CloseReason::client_closed);
      co_return;
    }
    HttpRequest req = rp.release();
    req.erase(http::field::expect);
    const auto started = Clock::now();
    proxy.counters().requests->Increment();
    proxy.counters().bytes_upstream->Increment(static_cast<double>(hn + bn));

    RequestInfo info{req.method_string(), req.target(),
                     [&req](std::string_view name) -> std::optional<std::string_view> {
                       auto it = req.find(name);
                       if (it == req.end()) return std::nullopt;
                       return it->value();
                     }};
    auto faults = picker.pick(info);
    if (proxy.header_faults()) {
      self->header_faults(req, faults, picker.rng());
      for (const char* h : {"x-faultline-abort", "x-faultline-abort-percentage",
                            "x-faultline-delay-ms", "x-faultline-delay-ms-percentage"})
        req.erase(h);
    }
    const RequestPlan plan = plan_of(faults);
    if (plan.delay_request.count() > 0) {
      proxy.counters().injected_delay->Increment(
          std::chrono::duration<double>(plan.delay_request).count());
      co_await self->sleep(plan.delay_request);
      if (self->closing_) co_return;
    }
    const bool keep_alive = req.keep_alive();
    if (plan.terminal) {
      const RequestFault& f = *plan.terminal;
      if (f.kind == RequestFault::Kind::abort) {
        self->close(CloseReason::fault);
        co_return;
      }
      if (f.kind == RequestFault::Kind::hang) {
        // Read and discard until the client leaves (or the idle timeout passes).
        for (;;) {
          self->client_.expires_after(idle);
          auto [rec, rn] = co_await self->client_.async_read_some(cbuf.prepare(4096), use_nothrow);
          if (self->closing_) co_return;
          if (rec) break;
          cbuf.consume(cbuf.size());
        }
        self->close(CloseReason::fault);
        co_return;
      }
      if (f.kind == RequestFault::Kind::error) {
        HttpResponse res{static_cast<http::status>(f.status), req.version()};
        bool has_type = false;
        for (const auto& [k, v] : f.headers) {
          res.set(k, v);
          has_type = has_type || beast::iequals(k, "content-type");
        }
        if (!has_type && !f.body.empty() && f.body.front() == '{')
          res.set(http::field::content_type, "application/json");
        res.body() = f.body;
        res.keep_alive(keep_alive);
        res.prepare_payload();
        if (plan.delay_response.count() > 0) {
          proxy.counters().injected_delay->Increment(
              std::chrono::duration<double>(plan.delay_response).count());
          co_await self->sleep(plan.delay_response);
          if (self->closing_) co_return;
        }
        self->record(req, f.status, started);  // before the write: readers see it on reply
        if (!co_await write_client(self, std::move(res))) co_return;
        if (!keep_alive) {
          self->close(CloseReason::client_closed);
          co_return;
        }
        continue;
      }
    }

    // Forward. A kept-alive upstream connection may have been closed by the server meanwhile:
    // one fresh connection is tried before giving up with 502.
    bool sent = false;
    for (int attempt = 0; attempt < 2 && !sent; ++attempt) {
      if (!self->upstream_) {
        auto [cec, sock] = co_await connect_upstream(proxy.upstream(), proxy.env().connect_timeout);
        if (self->closing_) co_return;
        if (cec) {
          proxy.counters().connect_errors->Increment();
          break;
        }
        self->upstream_.emplace(std::move(sock));
        error_code ig;
        self->upstream_->socket().set_option(tcp::no_delay(true), ig);
        ubuf.clear();
      }
      self->upstream_->expires_after(idle);
      auto [wec, wn] = co_await http::async_write(*self->upstream_, req, use_nothrow);
      if (self->closing_) co_return;
      if (!wec) {
        sent = true;
      } else {
        self->upstream_.reset();
      }
    }
    if (!sent) {
      auto res = json_error(http::status::bad_gateway, "upstream unreachable", req.version());
      res.keep_alive(keep_alive);
      self->record(req, 502, started);
      if (!co_await write_client(self, std::move(res))) co_return;
      if (!keep_alive) {
        self->close(CloseReason::client_closed);
        co_return;
      }
      continue;
    }
    if (plan.terminal && plan.terminal->kind == RequestFault::Kind::abort_upstream) {
      self->close(CloseReason::fault);
      co_return;
    }
    http::response_parser<http::string_body> resp;
    resp.header_limit(kHeaderLimit);
    resp.body_limit(kBodyLimit);
    if (req.method() == http::verb::head) resp.skip(true);
    auto [rec, rn] = co_await http::async_read(*self->upstream_, ubuf, resp, use_nothrow);
    if (self->closing_) co_return;
    if (rec) {
      self->upstream_.reset();
      auto res = json_error(http::status::bad_gateway,
                            "upstream closed or failed before a complete response", req.version());
      res.keep_alive(false);
      self->record(req, 502, started);
      co_await write_client(self, std::move(res));
      self->close(CloseReason::upstream_closed);
      co_return;
    }
    self->upstream_->expires_never();
    HttpResponse res = resp.release();
    if (!res.keep_alive()) self->upstream_.reset();
    if (plan.delay_response.count() > 0) {
      proxy.counters().injected_delay->Increment(
          std::chrono::duration<double>(plan.delay_response).count());
      co_await self->sleep(plan.delay_response);
      if (self->closing_) co_return;
    }
    const bool keep = keep_alive && res.keep_alive();
    res.keep_alive(keep);
    const unsigned status = res.result_int();
    self->record(req, status, started);
    if (!co_await write_client(self, std::move(res))) co_return;
    if (!keep) {
      error_code ig;
      self->client_.socket().shutdown(tcp::socket::shutdown_send, ig);
      self->close(CloseReason::client_closed);
      co_return;
    }
  }
}

std::atomic<std::uint64_t> g_http_connections{0};

}  // namespace

void start_http_connection(std::shared_ptr<Proxy> proxy, tcp::socket client) {
  error_code ec;
  client.set_option(tcp::no_delay(true), ec);
  auto ex = client.get_executor();
  const std::uint64_t seed = proxy->env().seed ^ (0xd1b54a32d192ed03ULL * ++g_http_connections);
  auto conn = std::make_shared<HttpConnection>(proxy, std::move(client));
  proxy->add_connection(conn);
  asio::co_spawn(ex, HttpConnection::run(conn, seed), log_exception("proxy http connection"));
}

}  // namespace faultline::proxy
