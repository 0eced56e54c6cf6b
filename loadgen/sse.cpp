// SSE sessions (see sse.hpp): the request, the head, then the body through a chunked or sized
// reader into the framer, events counted and timed as they come.
#include "loadgen/sse.hpp"

#include <boost/asio/write.hpp>

#include "common/sse.hpp"
#include "loadgen/detail/connection.hpp"
#include "loadgen/http1.hpp"

namespace faultline::loadgen::detail {
namespace {

// The value of an event's last `id:` field ("" when it has none); WHATWG: a field without a
// colon is a name with an empty value, one space after the colon is dropped, an id with NUL is
// ignored.
std::optional<std::string> event_id(std::string_view event) {
  std::optional<std::string> id;
  while (!event.empty()) {
    const auto end = event.find_first_of("\r\n");
    std::string_view line = event.substr(0, end);
    event.remove_prefix(end == std::string_view::npos ? event.size() : end + 1);
    if (line.rfind("id", 0) != 0) continue;
    std::string_view value = line.substr(2);
    if (!value.empty() && value.front() != ':') continue;  // "idx: ..." is another field
    if (!value.empty()) value.remove_prefix(1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (value.find('\0') == std::string_view::npos) id = std::string(value);
  }
  return id;
}

struct SseSession {
  Conn* c;
  const SsePlan& plan;
  TimePoint intended, sent;
  Conn::SessionMemory* memory;
  std::uint64_t events = 0;
  TimePoint last_event{};
  SseFramer framer{kMaxSseEvent};
  std::vector<SsePiece> pieces{};

  // Counts and times the events among `pieces`; true once the plan's events all came.
  bool take_pieces() {
    Worker* w = c->w;
    for (const SsePiece& p : pieces) {
      if (!p.event || events >= plan.events) continue;
      const TimePoint now = Clock::now();
      if (auto id = event_id(p.bytes)) memory->last_event_id = std::move(*id);
      if (events == 0)
        w->end_request(plan.first_event_name, intended, sent, Outcome::ok);
      else
        w->record(plan.event_name, last_event, last_event, now, Outcome::ok, nullptr);
      ++events;
      last_event = now;
      c->hold(now);  // the next gap counts from here
      // The next event within --timeout; the end of the run cuts the session (completed).
      c->deadline = std::min(now + w->engine->cfg.timeout, w->engine->end);
    }
    pieces.clear();
    return events >= plan.events;
  }
  // The awaited event failed with `o`.
  void fail(Outcome o) {
    if (events == 0)
      c->w->end_request(plan.first_event_name, intended, sent, o);
    else
      c->w->record(plan.event_name, last_event, last_event, Clock::now(), o, nullptr);
  }
};

awaitable<error_code> write_all(Conn* c, const std::string& bytes) {
  error_code ec;
  if (c->tls)
    std::tie(ec, std::ignore) =
        co_await asio::async_write(*c->tls, asio::buffer(bytes), use_nothrow);
  else
    std::tie(ec, std::ignore) =
        co_await asio::async_write(c->sock, asio::buffer(bytes), use_nothrow);
  co_return ec;
}

// Reads the body after the head into the framer until the plan is through (nullopt) or the
// stream ends first (the awaited event's outcome).
awaitable<std::optional<Outcome>> read_events(SseSession& s, const ResponseHead& head) {
  Conn* c = s.c;
  ChunkedDecoder chunks;
  std::string decoded;
  const bool sized = !head.chunked && head.content_length.has_value();
  std::uint64_t remaining = head.content_length.value_or(0);
  for (;;) {
    const std::string_view avail(c->buf.data() + c->begin, c->end - c->begin);
    bool body_done = false;
    if (head.chunked) {
      std::size_t used = 0;
      const Parse p = chunks.feed(avail, used, &decoded);
      c->begin += used;
      if (p == Parse::bad) co_return Outcome::bad_response;
      body_done = p == Parse::done;
    } else {
      const std::size_t take =
          sized ? static_cast<std::size_t>(std::min<std::uint64_t>(remaining, avail.size()))
                : avail.size();
      decoded.append(avail.data(), take);
      c->begin += take;
      if (sized) {
        remaining -= take;
        body_done = remaining == 0;
      }
    }
    s.framer.feed(decoded, s.pieces);
    decoded.clear();
    if (body_done) s.framer.finish(s.pieces);
    if (s.take_pieces()) co_return std::nullopt;
    if (body_done) co_return Outcome::reset;  // the server ended the stream before the plan
    if (c->begin == c->end) c->begin = c->end = 0;
    if (!c->make_room()) co_return Outcome::bad_response;
    const auto [ec, n] = co_await c->read_some();
    // Cut by the end of the run (after its first event: the first one has --timeout).
    if (ec && c->timed_out && s.events > 0 && Clock::now() >= c->w->engine->end)
      co_return std::nullopt;
    if (ec) co_return c->timed_out ? Outcome::read_timeout : Outcome::reset;
    c->end += n;
  }
}

}  // namespace

awaitable<void> run_sse_session(Conn* c, const Entry& entry, Job job) {
  Worker* w = c->w;
  Engine& e = *w->engine;
  const SsePlan& plan = *entry.sse;
  if (c->open) c->close();  // the stream takes a fresh connection over
  SseSession s{c, plan, job.intended, w->begin_request(c, job.intended),
               &c->session_memory(entry.session)};
  if (auto failed = co_await ensure_connected(c)) {
    s.fail(*failed);
    co_return;
  }
  const bool reconnect = s.memory->ended_early;
  std::string request = "GET ";
  plan.target.render(request, {}, w->rng, ++w->seq, Slot::target);
  request += " HTTP/1.1\r\nHost: ";
  request += e.cfg.url.host_header;
  request +=
      "\r\nUser-Agent: faultline-load\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n";
  // The id a server sent can only be a header value when it has no CR or LF (the framer cut
  // lines there, so it has none).
  const std::string& last_id = s.memory->last_event_id;
  if (reconnect && !last_id.empty() && header_value_ok(last_id))
    request += "Last-Event-ID: " + last_id + "\r\n";
  request += "\r\n";
  c->timed_out = false;
  c->deadline = Clock::now() + e.cfg.timeout;
  std::optional<Outcome> failed;
  ResponseHead head;
  if (co_await write_all(c, request))
    failed = c->timed_out ? Outcome::read_timeout : Outcome::reset;
  while (!failed) {
    const auto p =
        parse_response_head(std::string_view(c->buf.data() + c->begin, c->end - c->begin), head);
    if (p == Parse::bad) failed = Outcome::bad_response;
    if (p == Parse::done) {
      if (head.status >= 100 && head.status < 200 && head.status != 101) {
        c->begin += head.head_bytes;
        continue;
      }
      break;
    }
    if (failed) break;
    if (!c->make_room()) {
      failed = Outcome::bad_response;
      break;
    }
    const auto [ec, n] = co_await c->read_some();
    if (ec) failed = c->timed_out ? Outcome::read_timeout : Outcome::reset;
    c->end += n;
  }
  if (!failed && head.status != 200)
    failed = head.status >= 500   ? Outcome::http_5xx
             : head.status >= 400 ? Outcome::http_4xx
                                  : Outcome::bad_response;
  if (failed) {
    s.fail(*failed);
    c->deadline = TimePoint::max();
    c->close();
    co_return;
  }
  c->begin += head.head_bytes;
  SessionCounts opened;
  opened.opened = 1;
  opened.reconnects = reconnect ? 1 : 0;
  w->record_session(entry.session, job.intended, opened);
  const std::optional<Outcome> ended = co_await read_events(s, head);
  if (ended) s.fail(*ended);
  c->deadline = TimePoint::max();
  SessionCounts end;
  (ended ? end.ended_early : end.completed) = 1;
  // Held: the last event's time (or the job's); nothing of the session is recorded before it.
  w->record_session(entry.session, s.events > 0 ? s.last_event : job.intended, end);
  s.memory->ended_early = ended.has_value();
  if (!ended) s.memory->last_event_id.clear();
  c->close();
}

}  // namespace faultline::loadgen::detail
