// WebSocket sessions (see websocket.hpp): the handshake, a sender and a reader side by side, and
// the session's counts.
#include "loadgen/websocket.hpp"

#include <cstring>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "loadgen/detail/connection.hpp"

namespace faultline::loadgen::detail {
namespace {

namespace websocket = beast::websocket;
using namespace asio::experimental::awaitable_operators;

// A reply longer than this fails the session (bad_response): replies are compared, never kept.
constexpr std::size_t kMaxMessage = 16 * 1024 * 1024;

// What the sender and the reader of one session share (both run on the worker's thread).
struct Session {
  Conn* c;
  const WsPlan& plan;
  std::size_t index;  // into Workload::session_names
  asio::steady_timer timer;
  // What `c` holds (Conn::holds): the session's events are recorded at this time, so the
  // interval line they land on waits for them.
  TimePoint held;
  // The message awaiting its reply.
  bool pending = false;
  std::string payload;
  TimePoint intended{}, sent{};
  bool ended = false;    // over: the reader saw its end, or a reply or write failed
  bool early = false;    // ... before its plan was through
  bool closing = false;  // the sender started the close handshake
  std::optional<std::uint16_t> server_close;  // the server's close code, when it started the close
};

// Records the message awaiting its reply (if any) with `o`.
void finish_pending(Session& s, Outcome o) {
  if (!s.pending) return;
  s.pending = false;
  s.c->w->end_request(s.plan.message_name, s.intended, s.sent, o);
}

// A failed read or write: the server's close frame, the connection gone (EOF, reset, the run
// stopping), or anything Beast refused (a malformed frame, invalid UTF-8, a message too long).
Outcome outcome_of(const error_code& ec) {
  if (ec == websocket::error::closed) return Outcome::closed;
  if (ec.category() == make_error_code(websocket::error::closed).category())
    return Outcome::bad_response;
  if (ec == asio::ssl::error::stream_truncated) return Outcome::reset;
  if (ec.category() == asio::error::get_ssl_category()) return Outcome::bad_response;
  return Outcome::reset;
}

// A failed handshake: a refusal by status (404, 503) is that status's kind.
Outcome handshake_outcome(const error_code& ec, const websocket::response_type& res) {
  if (ec == websocket::error::upgrade_declined) {
    const unsigned status = res.result_int();
    if (status >= 500) return Outcome::http_5xx;
    if (status >= 400) return Outcome::http_4xx;
    return Outcome::bad_response;
  }
  if (ec.category() == make_error_code(beast::http::error::end_of_stream).category())
    return ec == beast::http::error::end_of_stream ? Outcome::reset : Outcome::bad_response;
  return outcome_of(ec);
}

// Ends the connection under both loops (after a failed write or a reply that never came).
void cut(Session& s) {
  error_code ignored;
  s.c->sock.shutdown(tcp::socket::shutdown_both, ignored);
  s.c->sock.cancel(ignored);
}

template <class Ws>
awaitable<void> read_loop(Session& s, Ws& ws) {
  beast::flat_buffer buf;
  for (;;) {
    buf.clear();
    const auto [ec, n] = co_await ws.async_read(buf, use_nothrow);
    if (ec) {
      if (!s.ended && !s.closing) {
        s.ended = s.early = true;
        if (ec == websocket::error::closed) {
          const auto code = static_cast<std::uint16_t>(ws.reason().code);
          s.server_close = code == 0 ? std::uint16_t{1005} : code;
        }
        finish_pending(s, outcome_of(ec));
      }
      s.ended = true;
      s.timer.cancel();
      co_return;
    }
    if (!s.pending) continue;  // not a reply (or one that came too late)
    const bool reply =
        s.plan.reply_next ||
        (n == s.payload.size() && std::memcmp(buf.data().data(), s.payload.data(), n) == 0);
    if (reply) {
      finish_pending(s, Outcome::ok);
      s.timer.cancel();
    }
  }
}

template <class Ws>
awaitable<void> send_loop(Session& s, Ws& ws) {
  Worker* w = s.c->w;
  Engine& e = *w->engine;
  const TimePoint opened = Clock::now();
  const auto due_of = [&](std::uint64_t i) {
    return opened + std::chrono::duration_cast<Clock::duration>(s.plan.interval *
                                                                static_cast<std::int64_t>(i));
  };
  for (std::uint64_t i = 0; i < s.plan.messages && !s.ended; ++i) {
    const TimePoint due = std::max(due_of(i), s.held);
    // The end of the run cuts the plan: the session stays open until then (a user would start
    // a burst of short sessions otherwise), then closes normally.
    if (due > Clock::now() || due >= e.end) {
      s.timer.expires_at(std::min(due, e.end));
      co_await s.timer.async_wait(use_nothrow);
    }
    if (due >= e.end) break;
    if (s.ended || e.stopping.load(std::memory_order_relaxed) || Clock::now() >= e.end) break;
    s.payload.clear();
    s.plan.message.render(s.payload, {}, w->rng, ++w->seq, Slot::body);
    s.intended = s.held = due;
    s.sent = w->begin_request(s.c, due);
    s.pending = true;
    const auto [ec, n] = co_await ws.async_write(asio::buffer(s.payload), use_nothrow);
    if (ec) {
      if (!s.ended) {
        s.ended = s.early = true;
        finish_pending(s, outcome_of(ec));
      }
      cut(s);
      break;
    }
    if (s.pending && !s.ended) {
      s.timer.expires_at(s.sent + e.cfg.timeout);
      co_await s.timer.async_wait(use_nothrow);
      if (s.pending && !s.ended) {
        s.ended = s.early = true;
        finish_pending(s, Outcome::read_timeout);
        cut(s);
        break;
      }
    }
    // Nothing of this session is recorded before its next message is due.
    if (i + 1 < s.plan.messages) {
      const TimePoint next = due_of(i + 1);
      if (next > s.held && next < e.end) {
        s.held = next;
        s.c->hold(next);
      }
    }
  }
  if (!s.ended) {
    s.closing = true;
    s.c->timed_out = false;
    s.c->deadline = Clock::now() + e.cfg.timeout;  // the watchdog ends a close never answered
    co_await ws.async_close(websocket::close_code::normal, use_nothrow);
    s.c->deadline = TimePoint::max();
  }
}

template <class Ws>
awaitable<void> run_session(Session& s, Ws& ws, const std::string& target, TimePoint intended,
                            TimePoint sent) {
  Conn* c = s.c;
  Worker* w = c->w;
  Engine& e = *w->engine;
  ws.set_option(websocket::stream_base::decorator([&plan = s.plan](websocket::request_type& req) {
    req.set(beast::http::field::user_agent, "faultline-load");
    if (!plan.subprotocol.empty())
      req.set(beast::http::field::sec_websocket_protocol, plan.subprotocol);
  }));
  ws.read_message_max(kMaxMessage);
  ws.auto_fragment(false);
  ws.binary(s.plan.binary);
  websocket::response_type res;
  c->timed_out = false;
  c->deadline = Clock::now() + e.cfg.timeout;
  const auto [ec] = co_await ws.async_handshake(res, e.cfg.url.host_header, target, use_nothrow);
  c->deadline = TimePoint::max();
  if (ec) {
    w->end_request(s.plan.connect_name, intended, sent,
                   c->timed_out ? Outcome::connect_timeout : handshake_outcome(ec, res));
    co_return;
  }
  w->end_request(s.plan.connect_name, intended, sent, Outcome::ok);
  SessionCounts opened;
  opened.opened = 1;
  Conn::SessionMemory& memory = c->session_memory(s.index);
  opened.reconnects = memory.ended_early ? 1 : 0;
  memory.ended_early = false;
  w->record_session(s.index, s.held, opened);
  co_await (read_loop(s, ws) && send_loop(s, ws));
  SessionCounts end;
  (s.early ? end.ended_early : end.completed) = 1;
  if (s.server_close) end.close_codes[*s.server_close] = 1;
  w->record_session(s.index, s.held, end);
  memory.ended_early = s.early;
}

}  // namespace

awaitable<void> run_ws_session(Conn* c, const Entry& entry, Job job) {
  Worker* w = c->w;
  const WsPlan& plan = *entry.ws;
  if (c->open) c->close();  // a session takes a fresh connection over
  const TimePoint sent = w->begin_request(c, job.intended);
  if (auto failed = co_await ensure_connected(c)) {
    w->end_request(plan.connect_name, job.intended, sent, *failed);
    co_return;
  }
  std::string target;
  plan.target.render(target, {}, w->rng, ++w->seq, Slot::target);
  Session s{c, plan, entry.session, asio::steady_timer(*w->ioc), job.intended};
  if (c->tls) {
    websocket::stream<ssl::stream<tcp::socket&>&> ws(*c->tls);
    co_await run_session(s, ws, target, job.intended, sent);
  } else {
    websocket::stream<tcp::socket&> ws(c->sock);
    co_await run_session(s, ws, target, job.intended, sent);
  }
  c->close();
}

}  // namespace faultline::loadgen::detail
