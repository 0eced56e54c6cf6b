// The answers the http engine makes itself (see http_connection_impl.hpp): an `error` fault's
// response, an abort, a hang; and the Envoy-style header faults (x-faultline-abort,
// x-faultline-delay-ms).
#include <charconv>

#include <boost/asio/write.hpp>

#include "proxy/http_connection_impl.hpp"
#include "proxy/http_wire.hpp"

namespace faultline::proxy {

namespace {

std::optional<std::int64_t> header_int(const RequestHead& req, std::string_view name) {
  auto it = req.find(name);
  if (it == req.end()) return std::nullopt;
  std::string_view v = it->value();
  std::int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || out < 0) return std::nullopt;
  return out;
}

}  // namespace

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

void HttpConnection::header_faults(const RequestHead& req, std::vector<PickedFault>& faults,
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

awaitable<Next> HttpConnection::answer_locally(std::shared_ptr<HttpConnection> self,
                                               RequestFault fault, Clock::duration delay_response,
                                               Clock::time_point started) {
  const RequestMessage& req = self->request_->get();
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
  // An error response made here, once the request body is read (and discarded): the client's
  // next request on the connection starts after it. A body over 64 MiB is not read to its end:
  // the answer then closes the connection.
  bool keep_alive = req.keep_alive();
  const BodyRead drained = co_await read_request_body(self, nullptr);
  if (drained == BodyRead::failed) co_return Next::stop;
  if (drained == BodyRead::too_large) keep_alive = false;
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

}  // namespace faultline::proxy
