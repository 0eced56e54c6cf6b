// Load engine internals. Shape (wrk-like): one io_context per thread, each Worker owns its
// connections and stats; a Conn is one keep-alive connection driven by exactly one coroutine at a
// time. Timeouts use one watchdog timer per connection (re-armed lazily) instead of racing a timer
// per read, which keeps the hot path to one read and one write per request.
#include "loadgen/engine.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <thread>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <spdlog/spdlog.h>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include "common/co_spawn.hpp"
#include "common/http_server.hpp"
#include "common/io_pool.hpp"
#include "common/metrics.hpp"
#include "loadgen/exchange.hpp"
#include "loadgen/http1.hpp"
#include "loadgen/stats.hpp"

namespace faultline::loadgen {

namespace ssl = asio::ssl;
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

const char* model_name(Model m) noexcept {
  switch (m) {
    case Model::open:
      return "open";
    case Model::closed:
      return "closed";
    case Model::max:
      return "max";
  }
  return "max";
}

std::optional<TargetUrl> parse_url(std::string_view url, std::string& error) {
  TargetUrl t;
  std::string_view rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    t.tls = true;
    rest = url.substr(8);
  } else {
    error = "URL must start with http:// or https:// (got \"" + std::string(url) + "\")";
    return std::nullopt;
  }
  const auto slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  t.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!t.target.empty() && t.target.front() == '?') t.target = "/" + t.target;
  if (authority.empty()) {
    error = "URL has no host: \"" + std::string(url) + "\"";
    return std::nullopt;
  }
  std::string_view host = authority;
  std::uint16_t port = t.tls ? 443 : 80;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "URL has an unterminated IPv6 host";
      return std::nullopt;
    }
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        error = "bad URL authority \"" + std::string(authority) + "\"";
        return std::nullopt;
      }
      auto hp = parse_host_port("x" + std::string(after));
      if (!hp) {
        error = "bad port in URL";
        return std::nullopt;
      }
      port = hp->port;
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    auto hp = parse_host_port(std::string(authority));
    if (!hp || hp->port == 0) {
      error = "bad port in URL \"" + std::string(url) + "\"";
      return std::nullopt;
    }
    port = hp->port;
  }
  t.host = std::string(host);
  t.port = port;
  t.host_header = std::string(authority);
  return t;
}

namespace {

std::atomic<bool> g_signalled{false};

struct Engine;
struct Worker;

struct Job {
  TimePoint intended;
  std::size_t entry = 0;  // workload entry, or replay item when replaying
};

// Everything one worker measured; guarded by Worker::mu. A response is recorded into one Stats
// only (`pending` of its stage; plus `names_interval` when the workload has several names); the
// coordinator folds `pending` into the interval, the total and the stages once a second, which
// keeps the per-request cost at two histogram records instead of ten.
struct WorkerStats {
  Stats total;
  std::vector<Stats> stages;
  std::vector<Stats> pending;  // per stage, plus one last slot for "no stage"
  std::vector<Stats> names_total;
  std::vector<Stats> names_interval;  // used only with more than one name
};

struct Conn {
  Worker* w;
  tcp::socket sock;
  std::unique_ptr<ssl::stream<tcp::socket&>> tls;
  asio::steady_timer watchdog;
  asio::steady_timer wake;  // open model: parked while idle, cancelled to hand over a job
  TimePoint deadline = TimePoint::max();
  bool timed_out = false;
  bool open = false;
  bool stopped = false;
  std::uint64_t used = 0;  // requests completed on the current TCP connection
  std::optional<Job> job;
  // Starts small (a closed model may hold 10^4..10^5 connections) and grows up to the 64 KiB
  // response-head limit when a head or chunk line needs it.
  std::vector<char> buf = std::vector<char>(4096);
  bool grow() {
    if (buf.size() >= 64 * 1024) return false;
    buf.resize(buf.size() * 2);
    return true;
  }
  std::size_t begin = 0, end = 0;

  // Moves the unread bytes [begin, end) to the front and, when the buffer is still full, grows it;
  // false when it is full at the 64 KiB limit.
  bool make_room() {
    if (begin > 0) {
      std::memmove(buf.data(), buf.data() + begin, end - begin);
      end -= begin;
      begin = 0;
    }
    return end < buf.size() || grow();
  }
  // Reads what has arrived into the free space after `end` (TLS or plain). Not a coroutine itself,
  // so the hot path allocates no extra frame; plain async_read_some, not async_wait + read_some:
  // Asio's epoll reactor skips the speculative read after a short read (until epoll reports the
  // socket readable again), so this costs no wasted EAGAIN, while async_wait re-arms the
  // descriptor with one epoll_ctl(EPOLL_CTL_MOD) per call.
  awaitable<std::tuple<error_code, std::size_t>> read_some() {
    const auto space = asio::buffer(buf.data() + end, buf.size() - end);
    if (tls) return tls->async_read_some(space, use_nothrow);
    return sock.async_read_some(space, use_nothrow);
  }

  explicit Conn(Worker* worker, asio::io_context& ioc)
      : w(worker), sock(ioc), watchdog(ioc), wake(ioc) {}
  void close() {
    error_code ec;
    tls.reset();
    sock.close(ec);
    open = false;
    used = 0;
    begin = end = 0;
  }
};

struct Worker {
  Engine* engine = nullptr;
  std::size_t index = 0;
  asio::io_context* ioc = nullptr;
  Rng rng;
  std::uint64_t seq = 0;
  std::vector<std::unique_ptr<Conn>> conns;
  std::vector<Conn*> idle;
  std::deque<Job> backlog;
  std::mutex mu;
  WorkerStats stats;
  std::atomic<std::int64_t> in_flight{0};
  std::atomic<std::uint64_t> offered{0}, late{0}, dropped{0}, backlog_size{0};
  std::atomic<std::uint64_t> unsent{0};  // still queued when the run ended
  std::atomic<std::int64_t> max_lag_ns{0};
  std::atomic<int> drivers{0};                    // live driver coroutines
  asio::steady_timer* scheduler_timer = nullptr;  // open model, to cut its wait short at stop
  std::atomic<bool> schedule_done{false};         // open model: no more arrivals
  std::atomic<std::uint64_t> jobs_done{0};        // iterations finished (any outcome)

  void record(std::size_t name, TimePoint intended, TimePoint sent, TimePoint done,
              Outcome outcome);
  // Around one request: counts it in flight and returns its send time; then records it.
  // Only this worker's thread writes in_flight (the coordinator reads it): no atomic RMW needed.
  TimePoint begin_request() {
    in_flight.store(in_flight.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return Clock::now();
  }
  void end_request(std::size_t name, TimePoint intended, TimePoint sent, Outcome outcome) {
    const TimePoint done = Clock::now();
    in_flight.store(in_flight.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    record(name, intended, sent, done, outcome);
  }
};

struct Engine {
  const EngineConfig& cfg;
  Workload& workload;
  std::vector<tcp::endpoint> endpoints;
  std::unique_ptr<ssl::context> tls_ctx;
  TimePoint start;
  TimePoint end;
  std::atomic<bool> stopping{false};
  std::vector<std::unique_ptr<Worker>> workers;
  std::atomic<bool> tls_warned{false};
  // Per workload entry: its only step when the entry is one fixed request without captures (not
  // replaying), else null. The open and max drivers send such a job themselves (begin_request,
  // exchange, end_request: what run_job → send_request would do, minus two coroutine frames per
  // request); the closed model always goes through run_job.
  std::vector<const StepSpec*> simple;
  std::vector<bool> simple_head;  // that step is a HEAD request
  // A job's entry indexes the replay items, not the workload, when replaying.
  const StepSpec* simple_step(std::size_t entry) const {
    return cfg.replay ? nullptr : simple[entry];
  }

  Engine(const EngineConfig& c, Workload& w) : cfg(c), workload(w) {
    for (const Entry& entry : w.entries) {
      const bool one = !c.replay && !entry.generator && entry.steps.size() == 1 &&
                       !entry.steps[0].prerendered.empty() && entry.steps[0].captures.empty();
      simple.push_back(one ? &entry.steps[0] : nullptr);
      simple_head.push_back(one && entry.steps[0].method == "HEAD");
    }
  }
  double elapsed(TimePoint t) const { return std::chrono::duration<double>(t - start).count(); }
  std::size_t stage_of(TimePoint t) const {
    return cfg.replay ? 0 : cfg.profile.stage_at(elapsed(t));
  }
};

void Worker::record(std::size_t name, TimePoint intended, TimePoint sent, TimePoint done,
                    Outcome outcome) {
  const auto corrected = std::chrono::duration_cast<std::chrono::nanoseconds>(done - intended);
  const auto actual = std::chrono::duration_cast<std::chrono::nanoseconds>(done - sent);
  const std::size_t stage = std::min(engine->stage_of(intended), stats.stages.size());
  std::lock_guard lock(mu);
  stats.pending[stage].record(outcome, corrected, actual);
  if (stats.names_interval.size() > 1 && name < stats.names_interval.size())
    stats.names_interval[name].record(outcome, corrected, actual);
}

// Folds what `w` recorded since the last call into its totals and stages (and, when given, into
// the interval sums). Caller holds w.mu or the workers are stopped.
void fold_pending(Worker& w, Stats* interval, std::vector<Stats>* names_interval) {
  WorkerStats& st = w.stats;
  for (std::size_t s = 0; s < st.pending.size(); ++s) {
    Stats& p = st.pending[s];
    if (p.total == 0) continue;
    st.total.merge(p);
    if (s < st.stages.size()) st.stages[s].merge(p);
    if (interval) interval->merge(p);
    p.reset();
  }
  if (st.names_interval.size() > 1) {
    for (std::size_t n = 0; n < st.names_interval.size(); ++n) {
      Stats& p = st.names_interval[n];
      if (p.total == 0) continue;
      st.names_total[n].merge(p);
      if (names_interval) (*names_interval)[n].merge(p);
      p.reset();
    }
  }
}

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
    SSL_set_tlsext_host_name(c->tls->native_handle(), e.cfg.url.host.c_str());
    if (!e.cfg.insecure) c->tls->set_verify_callback(ssl::host_name_verification(e.cfg.url.host));
    auto [hec] = co_await c->tls->async_handshake(ssl::stream_base::client, use_nothrow);
    if (hec) {
      const bool timed_out = c->timed_out;
      c->deadline = TimePoint::max();
      c->close();
      if (timed_out) co_return Outcome::connect_timeout;
      if (!e.tls_warned.exchange(true))
        spdlog::warn(
            "TLS handshake with {} failed: {} (counted as bad_response; --insecure "
            "skips certificate verification)",
            e.cfg.url.host, hec.message());
      co_return Outcome::bad_response;
    }
  }
  c->deadline = TimePoint::max();
  c->open = true;
  co_return std::nullopt;
}

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
                                   bool head_method, bool keep, TimePoint intended) {
  Worker* w = c->w;
  StepResult result;
  const TimePoint sent = w->begin_request();
  result.outcome = co_await exchange(c, bytes, head_method, keep ? &result : nullptr, sent);
  w->end_request(name, intended, sent, result.outcome);
  co_return result;
}

bool is_head(const std::string& method) {
  return method == "HEAD";
}

std::optional<std::string> capture_value(const Capture& cap, const StepResult& r) {
  if (cap.from_header) {
    auto v = find_header(r.head, cap.where);
    if (!v) return std::nullopt;
    return std::string(*v);
  }
  auto doc = json::parse(r.body, nullptr, false);
  if (doc.is_discarded()) return std::nullopt;
  try {
    const json& v = doc.at(json::json_pointer(cap.where));
    if (v.is_string()) return v.get<std::string>();
    return v.dump();
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

class ConnExchanger final : public Exchanger {
 public:
  ConnExchanger(Conn* c, TimePoint intended) : c_(c), intended_(intended) {}
  awaitable<StepResult> exchange(GeneratedRequest request) override {
    Engine& e = *c_->w->engine;
    std::string bytes;
    bytes.reserve(request.body.size() + 256);
    bytes += request.method;
    bytes += ' ';
    bytes += request.target;
    bytes += " HTTP/1.1\r\nHost: ";
    bytes += e.cfg.url.host_header;
    bytes += "\r\nUser-Agent: faultline-load\r\n";
    if (!request.content_type.empty()) {
      bytes += "Content-Type: ";
      bytes += request.content_type;
      bytes += "\r\n";
    }
    if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
      bytes += "Content-Length: ";
      bytes += std::to_string(request.body.size());
      bytes += "\r\n";
    }
    bytes += "\r\n";
    bytes += request.body;
    const TimePoint intended = first_ ? intended_ : Clock::now();
    first_ = false;
    co_return co_await send_request(c_, request.name_index, &bytes, is_head(request.method), true,
                                    intended);
  }
  Rng& rng() override { return c_->w->rng; }

 private:
  Conn* c_;
  TimePoint intended_;
  bool first_ = true;
};

// One iteration of a workload entry (request, flow or generator), or one replayed request.
awaitable<void> run_job(Conn* c, Job job) {
  Worker* w = c->w;
  Engine& e = *w->engine;
  if (e.cfg.replay) {
    const ReplayItem& item = (*e.cfg.replay)[job.entry];
    co_await send_request(c, item.name_index, &item.bytes, is_head(item.method), false,
                          job.intended);
    w->jobs_done.fetch_add(1, std::memory_order_relaxed);
    co_return;
  }
  const Entry& entry = e.workload.entries[job.entry];
  if (entry.generator) {
    ConnExchanger ex(c, job.intended);
    co_await entry.generator->run(&ex);
    co_return;
  }
  Vars vars;
  std::string scratch;
  TimePoint intended = job.intended;
  for (const auto& step : entry.steps) {
    const std::string* bytes = &step.prerendered;
    if (step.prerendered.empty()) {
      render_request(scratch, step, e.cfg.url.host_header, vars, w->rng, ++w->seq);
      bytes = &scratch;
    }
    const bool keep = !step.captures.empty();
    StepResult r =
        co_await send_request(c, step.name_index, bytes, is_head(step.method), keep, intended);
    if (r.outcome != Outcome::ok) break;  // later steps depend on this one
    bool captured = true;
    for (const auto& cap : step.captures) {
      auto v = capture_value(cap, r);
      if (!v) {
        spdlog::debug("capture {} ({}) missing; flow {} stops", cap.var, cap.where, entry.name);
        captured = false;
        break;
      }
      vars.emplace_back(cap.var, std::move(*v));
    }
    if (!captured) break;
    intended = Clock::now();
  }
}

// Parks an idle connection until the scheduler hands it a job (or the run stops).
awaitable<void> open_conn_loop(Conn* c) {
  Worker* w = c->w;
  Engine& e = *w->engine;
  for (;;) {
    if (!c->job) {
      if (e.stopping.load(std::memory_order_relaxed)) break;
      if (!w->backlog.empty()) {
        c->job = w->backlog.front();
        w->backlog.pop_front();
        w->backlog_size.store(w->backlog.size(), std::memory_order_relaxed);
      } else {
        w->idle.push_back(c);
        c->wake.expires_at(TimePoint::max());
        co_await c->wake.async_wait(use_nothrow);
        if (!c->job) {
          // Woken without a job: the run is over.
          auto it = std::find(w->idle.begin(), w->idle.end(), c);
          if (it != w->idle.end()) w->idle.erase(it);
          if (e.stopping.load(std::memory_order_relaxed)) break;
          continue;
        }
      }
    }
    Job job = *c->job;
    c->job.reset();
    if (const StepSpec* step = e.simple_step(job.entry)) {
      const TimePoint sent = w->begin_request();
      const Outcome o =
          co_await exchange(c, &step->prerendered, e.simple_head[job.entry], nullptr, sent);
      w->end_request(step->name_index, job.intended, sent, o);
    } else {
      co_await run_job(c, job);
    }
  }
  c->stopped = true;
  c->watchdog.cancel();
  c->close();
  --w->drivers;
}

// Open model: issues arrivals at their scheduled instants to idle connections, queueing the
// rest (never skipping them).
awaitable<void> scheduler_loop(Worker* w, std::size_t sender, std::size_t senders) {
  Engine& e = *w->engine;
  asio::steady_timer timer(*w->ioc);
  w->scheduler_timer = &timer;
  std::optional<ArrivalSchedule> schedule;
  if (!e.cfg.replay) schedule.emplace(e.cfg.profile, sender, senders);
  std::size_t replay_next = sender;
  std::uint64_t replay_k = 0;
  for (;;) {
    std::optional<double> at;
    std::size_t entry = 0;
    if (e.cfg.replay) {
      if (replay_next < e.cfg.replay->size()) {
        const auto& items = *e.cfg.replay;
        at = e.cfg.replay_rate > 0
                 ? (static_cast<double>(replay_k * senders + sender) + 0.5) / e.cfg.replay_rate
                 : items[replay_next].at_seconds / e.cfg.replay_speed;
        entry = replay_next;
        replay_next += senders;
        ++replay_k;
      }
    } else {
      at = schedule->next();
      if (at) entry = e.workload.pick(w->rng);
    }
    if (!at) break;
    const TimePoint intended =
        e.start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(*at));
    if (intended >= e.end) break;
    if (intended > Clock::now()) {
      timer.expires_at(intended);
      co_await timer.async_wait(use_nothrow);
    }
    if (e.stopping.load(std::memory_order_relaxed)) break;
    const auto lag = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - intended);
    if (lag.count() > w->max_lag_ns.load(std::memory_order_relaxed))
      w->max_lag_ns.store(lag.count(), std::memory_order_relaxed);
    w->offered.fetch_add(1, std::memory_order_relaxed);
    Job job{intended, entry};
    if (!w->idle.empty()) {
      Conn* c = w->idle.back();
      w->idle.pop_back();
      c->job = job;
      c->wake.cancel();
    } else if (w->backlog.size() < e.cfg.backlog_limit) {
      w->late.fetch_add(1, std::memory_order_relaxed);
      w->backlog.push_back(job);
      w->backlog_size.store(w->backlog.size(), std::memory_order_relaxed);
    } else {
      w->dropped.fetch_add(1, std::memory_order_relaxed);
    }
  }
  w->scheduler_timer = nullptr;
  w->schedule_done = true;
  --w->drivers;
}

// Closed model: a virtual user looping entries with think time, active while its index is below
// the current users level.
awaitable<void> user_loop(Conn* c, std::size_t user) {
  Worker* w = c->w;
  Engine& e = *w->engine;
  asio::steady_timer timer(*w->ioc);
  timer.expires_at(e.start);  // the clock of the run starts for everyone at once
  co_await timer.async_wait(use_nothrow);
  while (!e.stopping.load(std::memory_order_relaxed)) {
    const TimePoint now = Clock::now();
    if (now >= e.end) break;
    const double level = e.cfg.profile.level_at(e.elapsed(now));
    if (static_cast<double>(user) >= std::floor(level + 1e-9)) {
      if (c->open) c->close();
      timer.expires_after(std::chrono::milliseconds(50));
      co_await timer.async_wait(use_nothrow);
      continue;
    }
    w->offered.fetch_add(1, std::memory_order_relaxed);
    co_await run_job(c, Job{now, e.workload.pick(w->rng)});
    if (e.cfg.think_max_seconds > 0) {
      const double think = std::uniform_real_distribution<double>(e.cfg.think_min_seconds,
                                                                  e.cfg.think_max_seconds)(w->rng);
      timer.expires_after(
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(think)));
      co_await timer.async_wait(use_nothrow);
    }
  }
  c->stopped = true;
  c->watchdog.cancel();
  c->close();
  --w->drivers;
}

// Max-throughput model: the next request as soon as the previous answer arrived.
awaitable<void> max_loop(Conn* c) {
  Worker* w = c->w;
  Engine& e = *w->engine;
  {
    asio::steady_timer timer(*w->ioc);
    timer.expires_at(e.start);
    co_await timer.async_wait(use_nothrow);
  }
  for (;;) {
    const TimePoint now = Clock::now();
    if (e.stopping.load(std::memory_order_relaxed) || now >= e.end) break;
    w->offered.store(w->offered.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    const std::size_t entry = e.workload.pick(w->rng);
    if (const StepSpec* step = e.simple_step(entry)) {
      const TimePoint sent = w->begin_request();
      const Outcome o =
          co_await exchange(c, &step->prerendered, e.simple_head[entry], nullptr, sent);
      w->end_request(step->name_index, now, sent, o);
    } else {
      co_await run_job(c, Job{now, entry});
    }
  }
  c->stopped = true;
  c->watchdog.cancel();
  c->close();
  --w->drivers;
}

// Ends the open model's idle connections once the schedule is exhausted.
void release_idle(Worker* w) {
  for (Conn* c : w->idle)
    c->wake.cancel();
  if (w->scheduler_timer) w->scheduler_timer->cancel();
}

// Splits `total` items over `parts` as evenly as possible; share of part i.
std::size_t share(std::size_t total, std::size_t parts, std::size_t i) {
  return total / parts + (i < total % parts ? 1 : 0);
}

struct ProcessCpu {
  double seconds() const {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  }
};

std::string fmt_latency(double s) {
  char b[32];
  if (s < 1e-3)
    std::snprintf(b, sizeof b, "%.0fus", s * 1e6);
  else if (s < 1)
    std::snprintf(b, sizeof b, "%.2fms", s * 1e3);
  else
    std::snprintf(b, sizeof b, "%.2fs", s);
  return b;
}

struct LoadMetrics {
  Metrics metrics{true};
  prometheus::Family<prometheus::Counter>* requests = nullptr;
  prometheus::Family<prometheus::Counter>* errors = nullptr;
  std::vector<prometheus::Counter*> by_outcome;
  std::vector<prometheus::Counter*> by_kind;
  prometheus::Histogram* duration = nullptr;
  prometheus::Histogram::BucketBoundaries bounds;
  prometheus::Gauge* in_flight = nullptr;
  prometheus::Gauge* offered_rate = nullptr;
  prometheus::Gauge* backlog = nullptr;
  prometheus::Gauge* users = nullptr;
  prometheus::Counter* late = nullptr;
  prometheus::Counter* dropped = nullptr;

  LoadMetrics() {
    auto& reg = metrics.registry();
    requests = &prometheus::BuildCounter()
                    .Name("faultline_load_requests_total")
                    .Help("Completed requests by outcome (ok or an error kind)")
                    .Register(reg);
    by_outcome.push_back(&requests->Add({{"outcome", "ok"}}));
    for (std::size_t k = 0; k < kErrorKinds; ++k)
      by_outcome.push_back(&requests->Add({{"outcome", error_kind_name(k)}}));
    errors = &prometheus::BuildCounter()
                  .Name("faultline_load_errors_total")
                  .Help("Failed requests by error kind")
                  .Register(reg);
    for (std::size_t k = 0; k < kErrorKinds; ++k)
      by_kind.push_back(&errors->Add({{"kind", error_kind_name(k)}}));
    bounds = latency_buckets_seconds();
    duration = &prometheus::BuildHistogram()
                    .Name("faultline_load_request_duration_seconds")
                    .Help(
                        "Request latency from the intended send time (coordinated-omission "
                        "corrected), requests that got a response")
                    .Register(reg)
                    .Add({}, bounds);
    in_flight = &prometheus::BuildGauge()
                     .Name("faultline_load_in_flight_requests")
                     .Help("Requests sent and not yet answered")
                     .Register(reg)
                     .Add({});
    offered_rate = &prometheus::BuildGauge()
                        .Name("faultline_load_offered_rate_rps")
                        .Help("Arrival rate the open model is offering now (0 in other models)")
                        .Register(reg)
                        .Add({});
    backlog = &prometheus::BuildGauge()
                   .Name("faultline_load_backlog_requests")
                   .Help("Open model: arrivals waiting for a free connection")
                   .Register(reg)
                   .Add({});
    users = &prometheus::BuildGauge()
                 .Name("faultline_load_users")
                 .Help("Closed model: active virtual users (0 in other models)")
                 .Register(reg)
                 .Add({});
    late = &prometheus::BuildCounter()
                .Name("faultline_load_late_requests_total")
                .Help("Open model: arrivals that had to wait for a free connection")
                .Register(reg)
                .Add({});
    dropped = &prometheus::BuildCounter()
                   .Name("faultline_load_dropped_requests_total")
                   .Help("Open model: arrivals not sent because the backlog was full")
                   .Register(reg)
                   .Add({});
  }

  void observe(const Stats& interval) {
    by_outcome[0]->Increment(static_cast<double>(interval.ok));
    for (std::size_t k = 0; k < kErrorKinds; ++k) {
      by_outcome[k + 1]->Increment(static_cast<double>(interval.errors[k]));
      by_kind[k]->Increment(static_cast<double>(interval.errors[k]));
    }
    if (interval.latency.empty()) return;
    // Re-bucket the interval's HDR histogram into the Prometheus buckets.
    std::vector<double> increments(bounds.size() + 1, 0.0);
    const json j = interval.latency.to_json();
    const auto& b = j["buckets"];
    for (std::size_t i = 0; i + 1 < b.size(); i += 2) {
      const auto idx = b[i].get<std::size_t>();
      const double v = static_cast<double>(Histogram::lowest_equivalent(idx)) / 1e9;
      const auto pos = static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), v) -
                                                bounds.begin());
      increments[pos] += b[i + 1].get<double>();
    }
    duration->ObserveMultiple(increments, interval.latency.mean_seconds() *
                                              static_cast<double>(interval.latency.count()));
  }
};

awaitable<HttpResponse> metrics_handler(HttpRequest& req, RequestContext&);
LoadMetrics* g_metrics = nullptr;  // the metrics endpoint's view (one run per process)

awaitable<HttpResponse> metrics_handler(HttpRequest& req, RequestContext&) {
  if (req.target() != "/metrics" || !g_metrics)
    co_return json_error(http::status::not_found, "only GET /metrics here", req.version());
  HttpResponse res{http::status::ok, req.version()};
  res.set(http::field::content_type, kPrometheusContentType);
  res.body() = g_metrics->metrics.serialize();
  res.prepare_payload();
  co_return res;
}

json interval_line(double t, double seconds, const Stats& s, const std::vector<Stats>& names,
                   const std::vector<std::string>& name_list, std::int64_t in_flight,
                   std::uint64_t backlog, double offered_level, std::size_t stage) {
  json j = s.to_json(seconds, false);
  j["t"] = t;
  j["histogram"] = s.latency.to_json();
  j["in_flight"] = in_flight;
  j["backlog"] = backlog;
  j["offered_rps"] = offered_level;
  j["stage"] = stage;
  json by = json::object();
  for (std::size_t i = 0; i < names.size(); ++i)
    by[name_list[i]] = {{"total", names[i].total},
                        {"ok", names[i].ok},
                        {"failed", names[i].failed},
                        {"histogram", names[i].latency.to_json()}};
  j["requests_by_name"] = std::move(by);
  return j;
}

}  // namespace

json run_load(const EngineConfig& cfg) {
  Workload& workload = *cfg.workload;
  Engine engine(cfg, workload);

  // Resolve once; every connection uses the same endpoints.
  {
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    error_code ec;
    auto results = resolver.resolve(cfg.url.host, std::to_string(cfg.url.port), ec);
    if (ec) throw ConfigError("cannot resolve \"" + cfg.url.host + "\": " + ec.message());
    for (const auto& r : results)
      engine.endpoints.push_back(r.endpoint());
  }
  if (cfg.url.tls) {
    engine.tls_ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    if (cfg.insecure) {
      engine.tls_ctx->set_verify_mode(ssl::verify_none);
    } else {
      engine.tls_ctx->set_verify_mode(ssl::verify_peer);
      engine.tls_ctx->set_default_verify_paths();
    }
  }

  const std::size_t threads = std::max<std::size_t>(cfg.threads, 1);
  const std::size_t stage_count = cfg.replay ? 1 : cfg.profile.stages().size();
  const std::size_t names = workload.request_names.size();
  IoPool pool(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    auto w = std::make_unique<Worker>();
    w->engine = &engine;
    w->index = i;
    w->ioc = &pool.context(i);
    w->rng.seed(cfg.seed * 0x9E3779B97F4A7C15ULL + (cfg.shard * threads + i) * 7919 + 1);
    w->stats.stages.resize(stage_count);
    w->stats.pending.resize(stage_count + 1);
    w->stats.names_total.resize(names);
    w->stats.names_interval.resize(names);
    engine.workers.push_back(std::move(w));
  }

  std::ofstream intervals;
  if (!cfg.intervals_out.empty()) {
    intervals.open(cfg.intervals_out, std::ios::trunc);
    if (!intervals) throw ConfigError("--intervals-out: cannot write " + cfg.intervals_out);
  }

  // Control loop: signals and the metrics endpoint.
  IoPool control(1);
  std::unique_ptr<LoadMetrics> metrics;
  std::unique_ptr<HttpServer> metrics_server;
  std::mutex tick_mu;
  std::condition_variable tick_cv;
  bool interrupted = false;
  asio::signal_set signals(control.context(0), SIGINT, SIGTERM);
  signals.async_wait([&](const error_code& ec, int) {
    if (ec) return;
    std::lock_guard lock(tick_mu);
    interrupted = true;
    tick_cv.notify_all();
  });
  if (cfg.metrics_listen) {
    metrics = std::make_unique<LoadMetrics>();
    g_metrics = metrics.get();
    HttpServerOptions opt;
    metrics_server = std::make_unique<HttpServer>(control, metrics_handler, opt);
    tcp::endpoint bound;
    try {
      bound = metrics_server->listen(*cfg.metrics_listen);
    } catch (const std::exception& ex) {
      throw ConfigError("--metrics-listen " + cfg.metrics_listen->to_string() + ": " + ex.what());
    }
    std::cout << "listening on " << HostPort{bound.address().to_string(), bound.port()}.to_string()
              << std::endl;
  }
  control.start();

  // Timeline.
  double planned = cfg.duration_seconds;
  if (!cfg.replay && cfg.model != Model::max) planned = cfg.profile.end_seconds();
  // A replay without --duration ends once its last request is answered (see the coordinator).
  engine.start = Clock::now() + std::chrono::milliseconds(20);
  engine.end = engine.start +
               std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(planned));
  if (cfg.metrics_listen) {
    // For a supervisor (faultline run) that aligns its own timeline with our intervals: the Unix
    // time at which second 0 of --intervals-out begins.
    const auto wall = std::chrono::system_clock::now() + (engine.start - Clock::now());
    std::cout << fmt::format("started at {:.6f}",
                             std::chrono::duration<double>(wall.time_since_epoch()).count())
              << std::endl;
  }

  // Drivers.
  const std::size_t senders = threads * cfg.shards;
  for (std::size_t i = 0; i < threads; ++i) {
    Worker* w = engine.workers[i].get();
    auto& ioc = *w->ioc;
    auto add_conn = [&]() {
      w->conns.push_back(std::make_unique<Conn>(w, ioc));
      Conn* c = w->conns.back().get();
      asio::co_spawn(ioc, watchdog_loop(c), log_exception("load watchdog"));
      return c;
    };
    const bool open = cfg.model == Model::open || cfg.replay;
    if (open) {
      const std::size_t n = std::max<std::size_t>(share(cfg.connections, threads, i), 1);
      w->drivers += static_cast<int>(n) + 1;
      for (std::size_t k = 0; k < n; ++k)
        asio::co_spawn(ioc, open_conn_loop(add_conn()), log_exception("load connection"));
      asio::co_spawn(ioc, scheduler_loop(w, cfg.shard * threads + i, senders),
                     log_exception("load scheduler"));
    } else if (cfg.model == Model::closed) {
      // Global user u belongs to shard u % shards, then to thread (u / shards) % threads.
      const auto max_users = static_cast<std::size_t>(std::ceil(cfg.profile.max_level() - 1e-9));
      for (std::size_t u = 0; u < max_users; ++u) {
        if (u % cfg.shards != cfg.shard || (u / cfg.shards) % threads != i) continue;
        ++w->drivers;
        asio::co_spawn(ioc, user_loop(add_conn(), u), log_exception("load user"));
      }
    } else {
      const std::size_t n = share(cfg.connections, threads, i);
      w->drivers += static_cast<int>(n);
      for (std::size_t k = 0; k < n; ++k)
        asio::co_spawn(ioc, max_loop(add_conn()), log_exception("load connection"));
    }
  }
  const double users_scale = 1.0 / static_cast<double>(cfg.shards);
  // Closed model: users u < level with u % shards == shard belong to this process.
  auto own_users = [&](double level) {
    const auto all = static_cast<std::size_t>(std::floor(level + 1e-9));
    return all > cfg.shard ? static_cast<double>((all - cfg.shard + cfg.shards - 1) / cfg.shards)
                           : 0.0;
  };
  pool.start();

  // Coordinator: one tick per second.
  const bool tty = isatty(STDERR_FILENO) != 0;
  ProcessCpu cpu;
  double last_cpu = cpu.seconds();
  TimePoint last_tick = engine.start;
  std::uint64_t last_late = 0, last_dropped = 0;
  Stats interval_sum;
  std::vector<Stats> names_interval(names);
  std::size_t saturated_seconds = 0;
  bool warned_saturated = false;
  std::int64_t max_lag_ns = 0;
  auto current_level = [&](TimePoint t) {
    if (cfg.replay || cfg.model == Model::max) return 0.0;
    return cfg.profile.level_at(engine.elapsed(t));
  };
  auto collect = [&](TimePoint now, bool final_tick) {
    interval_sum.reset();
    for (auto& s : names_interval)
      s.reset();
    std::int64_t in_flight = 0;
    std::uint64_t backlog = 0, late = 0, dropped = 0;
    for (auto& w : engine.workers) {
      {
        std::lock_guard lock(w->mu);
        fold_pending(*w, &interval_sum, &names_interval);
      }
      in_flight += w->in_flight.load(std::memory_order_relaxed);
      backlog += w->backlog_size.load(std::memory_order_relaxed);
      late += w->late.load(std::memory_order_relaxed);
      dropped += w->dropped.load(std::memory_order_relaxed);
      max_lag_ns = std::max(max_lag_ns, w->max_lag_ns.exchange(0));
    }
    if (names == 1) names_interval[0] = interval_sum;  // one name: its stats are the interval's
    const double seconds = std::chrono::duration<double>(now - last_tick).count();
    const double t = engine.elapsed(now);
    if (final_tick && interval_sum.total == 0) return;
    const double level = current_level(now);
    // Generator CPU: saturated when the process used ≥ 90 % of its threads' cores.
    const double cpu_now = cpu.seconds();
    const double cpu_share = seconds > 0 ? (cpu_now - last_cpu) / seconds : 0;
    last_cpu = cpu_now;
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    if (cpu_share >= 0.9 * static_cast<double>(std::min<std::size_t>(threads, cores))) {
      ++saturated_seconds;
      if (!warned_saturated) {
        warned_saturated = true;
        spdlog::warn(
            "the load generator itself is CPU-saturated ({:.0f}% of {} thread(s)); "
            "latencies include its own queueing — use more --threads or machines",
            cpu_share * 100, threads);
      }
    }
    const std::size_t stage = cfg.replay ? 0 : cfg.profile.stage_at(t);
    if (intervals.is_open()) {
      intervals << interval_line(t, seconds, interval_sum, names_interval, workload.request_names,
                                 in_flight, backlog,
                                 cfg.model == Model::open ? level * users_scale : 0.0, stage)
                       .dump()
                << '\n'
                << std::flush;
    }
    if (metrics) {
      metrics->observe(interval_sum);
      metrics->in_flight->Set(static_cast<double>(in_flight));
      metrics->backlog->Set(static_cast<double>(backlog));
      metrics->offered_rate->Set(cfg.model == Model::open ? level * users_scale : 0.0);
      metrics->users->Set(cfg.model == Model::closed ? own_users(level) : 0.0);
      metrics->late->Increment(static_cast<double>(late - last_late));
      metrics->dropped->Increment(static_cast<double>(dropped - last_dropped));
    }
    last_late = late;
    last_dropped = dropped;
    if (cfg.progress) {
      char line[256];
      const double rps = seconds > 0 ? static_cast<double>(interval_sum.total) / seconds : 0;
      std::string offered;
      if (cfg.model == Model::open && !cfg.replay) {
        char b[64];
        std::snprintf(b, sizeof b, " (offered %.0f/s)", level * users_scale);
        offered = b;
      } else if (cfg.model == Model::closed) {
        char b[64];
        std::snprintf(b, sizeof b, " (%.0f users)", own_users(level));
        offered = b;
      }
      std::snprintf(line, sizeof line,
                    "[%6.1fs] %8.0f req/s%s  p50 %s  p99 %s  errors %llu  in-flight %lld  "
                    "backlog %llu",
                    t, rps, offered.c_str(),
                    fmt_latency(interval_sum.latency.percentile_seconds(50)).c_str(),
                    fmt_latency(interval_sum.latency.percentile_seconds(99)).c_str(),
                    static_cast<unsigned long long>(interval_sum.failed),
                    static_cast<long long>(in_flight), static_cast<unsigned long long>(backlog));
      if (tty)
        std::cerr << '\r' << line << "\x1b[K" << std::flush;
      else
        std::cerr << line << '\n' << std::flush;
    }
    last_tick = now;
  };

  bool was_interrupted = false;
  TimePoint stopped_at;
  {
    TimePoint next = engine.start + std::chrono::seconds(1);
    for (;;) {
      bool all_done = true;
      for (auto& w : engine.workers)
        all_done = all_done && w->drivers.load() == 0;
      TimePoint wake = std::min(next, engine.end);
      if (cfg.replay) {
        // A replay is over once every request was sent and answered.
        bool replayed = true;
        for (auto& w : engine.workers)
          replayed = replayed && w->schedule_done.load() &&
                     w->jobs_done.load() + w->dropped.load() == w->offered.load();
        all_done = all_done || replayed;
        wake = std::min(wake, Clock::now() + std::chrono::milliseconds(20));
      }
      {
        std::unique_lock lock(tick_mu);
        tick_cv.wait_until(lock, all_done ? Clock::now() : wake, [&] { return interrupted; });
        if (interrupted) {
          was_interrupted = true;
          break;
        }
      }
      const TimePoint now = Clock::now();
      if (now >= next) {
        collect(now, false);
        next += std::chrono::seconds(1);
      }
      if (now >= engine.end || all_done) break;
    }
  }
  stopped_at = std::min(Clock::now(), engine.end);
  engine.stopping = true;
  // Wake parked connections and let in-flight requests finish (each bounded by --timeout).
  for (auto& w : engine.workers)
    asio::post(*w->ioc, [wp = w.get()] { release_idle(wp); });
  const TimePoint grace = Clock::now() + cfg.timeout + std::chrono::seconds(1);
  for (;;) {
    bool all_done = true;
    for (auto& w : engine.workers)
      all_done = all_done && w->drivers.load() == 0;
    if (all_done || Clock::now() >= grace) break;
    std::unique_lock lock(tick_mu);
    if (!was_interrupted && interrupted) was_interrupted = true;
    tick_cv.wait_for(lock, std::chrono::milliseconds(10));
  }
  // Requests still queued when sending stopped were offered but never sent.
  std::uint64_t unsent = 0;
  for (auto& w : engine.workers) {
    std::promise<std::uint64_t> p;
    auto f = p.get_future();
    asio::post(*w->ioc, [wp = w.get(), &p] {
      p.set_value(wp->backlog.size());
      wp->backlog.clear();
      for (auto& c : wp->conns) {
        c->stopped = true;
        c->watchdog.cancel();
        c->wake.cancel();
        error_code ec;
        c->sock.cancel(ec);
      }
    });
    unsent += f.get();
  }
  collect(Clock::now(), true);
  if (cfg.progress && tty) std::cerr << '\n';
  pool.stop();
  pool.join();
  // Responses that arrived after the final tick (in-flight past the grace period) still count in
  // the totals, as they always did.
  for (auto& w : engine.workers)
    fold_pending(*w, nullptr, nullptr);
  // Sockets and timers go before their io_contexts do.
  for (auto& w : engine.workers) {
    w->idle.clear();
    w->conns.clear();
  }
  if (metrics_server) metrics_server->stop();
  control.stop();
  control.join();
  g_metrics = nullptr;

  // Results.
  Stats total;
  std::vector<Stats> stages(stage_count);
  std::vector<Stats> by_name(names);
  std::uint64_t offered = 0, late = 0, dropped = 0;
  for (auto& w : engine.workers) {
    total.merge(w->stats.total);
    for (std::size_t s = 0; s < stage_count; ++s)
      stages[s].merge(w->stats.stages[s]);
    if (names > 1)
      for (std::size_t n = 0; n < names; ++n)
        by_name[n].merge(w->stats.names_total[n]);
    offered += w->offered.load();
    late += w->late.load();
    dropped += w->dropped.load();
  }
  if (names == 1) by_name[0] = total;
  const double duration = std::max(1e-9, engine.elapsed(stopped_at));
  json out = total.to_json(duration, true);
  out["version"] = 1;
  out["url"] = (cfg.url.tls ? "https://" : "http://") + cfg.url.host_header + cfg.url.target;
  out["model"] = cfg.replay ? "replay" : model_name(cfg.model);
  out["interrupted"] = was_interrupted;
  out["duration_seconds"] = duration;
  out["threads"] = threads;
  out["connections"] = cfg.connections;
  out["seed"] = cfg.seed;
  out["shard"] = {{"index", cfg.shard}, {"count", cfg.shards}};
  out["schedule"] = {{"offered", offered},
                     {"late", late},
                     {"dropped", dropped},
                     {"unsent", unsent},
                     {"offered_rps", static_cast<double>(offered) / duration},
                     {"max_scheduler_lag_seconds", static_cast<double>(max_lag_ns) / 1e9}};
  out["generator"] = {{"cpu_saturated_seconds", saturated_seconds},
                      {"cpu_saturated", saturated_seconds > 0}};
  json st = json::array();
  for (std::size_t s = 0; s < stage_count; ++s) {
    double start_s = 0, dur = duration, from = 0, to = 0;
    std::string spec = "replay";
    if (!cfg.replay) {
      const auto& stage = cfg.profile.stages()[s];
      start_s = cfg.profile.stage_start(s);
      dur = std::clamp(duration - start_s, 0.0, stage.duration_seconds);
      from = stage.from;
      to = stage.to;
      spec = stage.spec;
    }
    json j = stages[s].to_json(dur, true);
    j["index"] = s;
    j["spec"] = spec;
    j["start_seconds"] = start_s;
    j["duration_seconds"] = dur;
    j["target"] = {{"from", from * (cfg.model == Model::max ? 0 : users_scale)},
                   {"to", to * (cfg.model == Model::max ? 0 : users_scale)}};
    st.push_back(std::move(j));
  }
  out["stages"] = std::move(st);
  json by = json::object();
  for (std::size_t n = 0; n < names; ++n)
    by[workload.request_names[n]] = by_name[n].to_json(duration, true);
  out["requests_by_name"] = std::move(by);
  return out;
}

}  // namespace faultline::loadgen
