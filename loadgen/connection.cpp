// See detail/connection.hpp. The hot path is exchange(): one direct write and, usually, one read
// per request; the body readers are separate coroutines so its frame stays small.
#include "loadgen/detail/connection.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>

#include "common/tls.hpp"
#include "loadgen/http1.hpp"

namespace faultline::loadgen::detail {

// Cancels the connection's socket operations when its deadline passes.
awaitable<void> watchdog_loop(Conn* c) {
  const auto period = c->w->engine->cfg.timeout;
  while (!c->stopped) {
    const auto now = Clock::now();
    c->watchdog.expires_at(std::min(c->deadline, now + period));
    co_await c->watchdog.async_wait(use_nothrow);
    if (c->stopped) break;
    if (Clock::now() >= c->deadline) {
      c->timed_out = true;
      c->deadline = TimePoint::max();
      // Shut down, not only cancel: a composed operation (async_write, a TLS read or write)
      // between two of its steps has nothing pending to cancel, and its next step would wait
      // without a deadline. After shutdown every later step fails at once (the connection is
      // closed by the request's failure path).
      error_code ec;
      c->sock.shutdown(tcp::socket::shutdown_both, ec);
      c->sock.cancel(ec);
    }
  }
}

// Connects (and handshakes) if needed.
awaitable<std::optional<Outcome>> ensure_connected(Conn* c) {
  if (c->open) co_return std::nullopt;
  Engine& e = *c->w->engine;
  c->close();
  c->timed_out = false;
  c->deadline = Clock::now() + e.cfg.timeout;
  error_code ec;
  for (const auto& ep : e.endpoints) {
    c->sock.close(ec);
    auto [cec] = co_await c->sock.async_connect(ep, use_nothrow);
    ec = cec;
    if (!ec || c->timed_out) break;
  }
  if (ec) {
    c->deadline = TimePoint::max();
    const bool timed_out = c->timed_out;
    c->close();
    co_return timed_out ? Outcome::connect_timeout : Outcome::connect_refused;
  }
  error_code ignored;
  c->sock.set_option(tcp::no_delay(true), ignored);
  c->sock.non_blocking(true, ignored);  // exchange_once's direct write must never block
  if (e.tls_ctx) {
    c->tls = std::make_unique<ssl::stream<tcp::socket&>>(c->sock, *e.tls_ctx);
    // SNI and the name the certificate must carry: the URL's host (a DNS name or an IP SAN).
    const std::string prepared =
        tls::prepare_client_ssl(c->tls->native_handle(), e.tls_config, e.cfg.url.host);
    const TimePoint hs_start = Clock::now();
    error_code hec;
    if (prepared.empty())
      std::tie(hec) = co_await c->tls->async_handshake(ssl::stream_base::client, use_nothrow);
    else
      hec = asio::error::invalid_argument;
    c->w->record_handshake(!hec && !c->timed_out, hs_start, Clock::now() - hs_start);
    if (hec) {
      const bool timed_out = c->timed_out;
      const std::string refused = tls::verify_failure(c->tls->native_handle());
      c->deadline = TimePoint::max();
      c->close();
      if (timed_out) co_return Outcome::connect_timeout;
      if (!e.tls_warned.exchange(true))
        spdlog::warn(
            "TLS handshake with {} failed: {}{} (counted as bad_response; --cacert PATH trusts "
            "your CA, --insecure skips certificate verification)",
            e.cfg.url.host, prepared.empty() ? hec.message() : prepared,
            refused.empty() ? "" : fmt::format(": {}", refused));
      co_return Outcome::bad_response;
    }
  }
  c->deadline = TimePoint::max();
  c->open = true;
  co_return std::nullopt;
}

namespace {

// The body readers live outside exchange_once so that its coroutine frame stays small enough for
// Asio's recycling allocator (frames over ~1 KiB are malloc'ed and freed on every request): the
// hot path, a Content-Length body that arrived with the head, never calls them.

// Reads and decodes a chunked body; nullopt when complete, else the failure.
awaitable<std::optional<Outcome>> read_chunked_body(Conn* c, std::string* body) {
  ChunkedDecoder dec;
  for (;;) {
    std::size_t used = 0;
    const auto p =
        dec.feed(std::string_view(c->buf.data() + c->begin, c->end - c->begin), used, body);
    c->begin += used;
    if (p == Parse::bad) co_return Outcome::bad_response;
    if (p == Parse::done) break;
    if (!c->make_room()) co_return Outcome::bad_response;
    const auto [rec, n] = co_await c->read_some();
    if (rec) co_return Outcome::reset;
    c->end += n;
  }
  co_return std::nullopt;
}

// Reads a body of `remaining` bytes, or until EOF; nullopt when complete, else the failure.
awaitable<std::optional<Outcome>> read_sized_body(Conn* c, std::string* body, bool until_eof,
                                                  std::uint64_t remaining) {
  for (;;) {
    const std::size_t avail = c->end - c->begin;
    const auto take = static_cast<std::size_t>(
        std::min<std::uint64_t>(remaining, static_cast<std::uint64_t>(avail)));
    if (until_eof) {
      if (body) body->append(c->buf.data() + c->begin, avail);
      c->begin = c->end;
    } else {
      if (body) body->append(c->buf.data() + c->begin, take);
      c->begin += take;
      remaining -= take;
      if (remaining == 0) break;
    }
    c->begin = c->end = 0;
    const auto [rec, n] = co_await c->read_some();
    if (rec) {
      if (until_eof && (rec == asio::error::eof || rec == ssl::error::stream_truncated) &&
          !c->timed_out)
        break;
      co_return Outcome::reset;
    }
    c->end = n;
  }
  co_return std::nullopt;
}

}  // namespace

// One request/response: connects first if needed and retries once, on a fresh connection, when
// a reused keep-alive connection turned out closed before any response byte. Keeps the head and
// body in `out` when asked. `now` is the caller's current time (saves a clock read).
awaitable<Outcome> exchange(Conn* c, const std::string* bytes, bool head_method, StepResult* out,
                            TimePoint now) {
  Engine& e = *c->w->engine;
  for (int attempt = 0;; ++attempt) {
    if (!c->open) {
      if (auto failed = co_await ensure_connected(c)) co_return *failed;
      now = Clock::now();
    }
    if (out) {
      out->head.clear();
      out->body.clear();
    }
    const bool may_retry = attempt == 0 && c->used > 0;
    bool retry = false;
    c->timed_out = false;
    c->deadline = now + e.cfg.timeout;
    auto fail = [&](Outcome o, bool nothing_received) {
      c->deadline = TimePoint::max();
      const Outcome result = c->timed_out ? Outcome::read_timeout : o;
      retry = may_retry && nothing_received && !c->timed_out;
      c->close();
      return result;
    };
    {
      error_code wec;
      // Bytes of this request the kernel (or TLS) accepted: after a write error the request is
      // retried only when this is 0, so a server that answered early (e.g. 413 before reading a
      // large body) and reset the connection is never sent the request twice.
      std::size_t sent = 0;
      if (c->tls) {
        std::tie(wec, sent) =
            co_await asio::async_write(*c->tls, asio::buffer(*bytes), use_nothrow);
      } else {
        // A request fits the socket buffer almost always: write it directly (one send syscall,
        // no reactor operation and no trip through the scheduler) and fall back to async_write
        // only for what did not fit.
        sent = c->sock.write_some(asio::buffer(*bytes), wec);
        if (wec == asio::error::would_block || wec == asio::error::try_again) {
          wec = {};
          sent = 0;
        }
        if (!wec && sent < bytes->size()) {
          std::size_t more = 0;
          std::tie(wec, more) =
              co_await asio::async_write(c->sock, asio::buffer(*bytes) + sent, use_nothrow);
          sent += more;
        }
      }
      if (wec) {
        const Outcome o = fail(Outcome::reset, sent == 0);
        if (retry) continue;
        co_return o;
      }
    }
    // Read and parse the head (skipping interim 1xx responses).
    ResponseHead head;
    bool received_any = false;
    std::optional<Outcome> read_failed;
    for (;;) {
      const auto p =
          parse_response_head(std::string_view(c->buf.data() + c->begin, c->end - c->begin), head);
      if (p == Parse::bad) co_return fail(Outcome::bad_response, false);
      if (p == Parse::done) {
        if (head.status >= 100 && head.status < 200 && head.status != 101) {
          c->begin += head.head_bytes;
          continue;
        }
        break;
      }
      if (!c->make_room()) co_return fail(Outcome::bad_response, false);
      const auto [rec, n] = co_await c->read_some();
      if (rec) {
        read_failed = fail(Outcome::reset, !received_any && c->end == c->begin);
        break;
      }
      received_any = true;
      c->end += n;
    }
    if (read_failed) {
      if (retry) continue;
      co_return *read_failed;
    }
    if (out) out->head.assign(c->buf.data() + c->begin, head.head_bytes);
    c->begin += head.head_bytes;
    std::string* body = out ? &out->body : nullptr;
    const bool no_body = head_method || head.status == 204 || head.status == 304 ||
                         (head.status >= 100 && head.status < 200);
    bool close_after = !head.keep_alive;
    if (!no_body) {
      if (head.chunked) {
        if (auto failed = co_await read_chunked_body(c, body)) co_return fail(*failed, false);
      } else {
        const bool until_eof = !head.content_length.has_value();
        const std::uint64_t remaining = head.content_length.value_or(0);
        if (until_eof) close_after = true;
        const std::size_t avail = c->end - c->begin;
        if (!until_eof && remaining <= avail) {
          if (body) body->append(c->buf.data() + c->begin, static_cast<std::size_t>(remaining));
          c->begin += static_cast<std::size_t>(remaining);
        } else if (auto failed = co_await read_sized_body(c, body, until_eof, remaining)) {
          co_return fail(*failed, false);
        }
      }
    }
    if (c->begin == c->end) c->begin = c->end = 0;
    c->deadline = TimePoint::max();
    ++c->used;
    if (out) out->status = head.status;
    if (close_after) c->close();
    if (head.status >= 500) co_return Outcome::http_5xx;
    if (head.status >= 400) co_return Outcome::http_4xx;
    co_return Outcome::ok;
  }
}

// Sends one request and records it (see exchange()).
awaitable<StepResult> send_request(Conn* c, std::size_t name, const std::string* bytes,
                                   bool head_method, bool keep, TimePoint intended,
                                   const std::vector<CheckSpec>* checks) {
  Worker* w = c->w;
  StepResult result;
  const bool with_checks = checks && !checks->empty();
  const TimePoint sent = w->begin_request(c, intended);
  result.outcome =
      co_await exchange(c, bytes, head_method, keep || with_checks ? &result : nullptr, sent);
  if (!with_checks) {
    w->end_request(name, intended, sent, result.outcome);
    co_return result;
  }
  // Evaluated before the request is recorded, so its checks count in the same second.
  CheckResults checked;
  checked.reserve(checks->size());
  const CheckedResponse response{has_response(result.outcome) ? result.status : 0u, result.head,
                                 result.body};
  for (const CheckSpec& check : *checks)
    checked.emplace_back(check.index, check_passes(check, response));
  w->end_request(name, intended, sent, result.outcome, &checked);
  co_return result;
}

}  // namespace faultline::loadgen::detail
