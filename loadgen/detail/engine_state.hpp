// The load engine's shared state (internal to loadgen/). Shape (wrk-like): one io_context per
// thread, each Worker owns its connections and stats; a Conn is one keep-alive connection driven
// by exactly one coroutine at a time; the Engine holds the run's configuration, endpoints and
// timeline. Timeouts use one watchdog timer per connection (re-armed lazily) instead of racing a
// timer per read, which keeps the hot path to one read and one write per request.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <tuple>
#include <vector>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "common/co_spawn.hpp"
#include "common/net.hpp"
#include "common/tls.hpp"
#include "loadgen/engine.hpp"
#include "loadgen/stats.hpp"
#include "loadgen/workload.hpp"

namespace faultline::loadgen::detail {

namespace ssl = asio::ssl;
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

struct Engine;
struct Worker;

// A time point as an integer (steady-clock nanoseconds), for the atomics below that say which
// seconds of the run still wait for a request; kNoRequest: none.
inline std::int64_t ticks(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
inline constexpr std::int64_t kNoRequest = std::numeric_limits<std::int64_t>::max();

// The response checks of one request: (index into Workload::check_names, passed).
using CheckResults = std::vector<std::pair<std::size_t, bool>>;

struct Job {
  TimePoint intended;
  std::size_t entry = 0;  // workload entry, or replay item when replaying
  std::size_t stage = 0;  // stage of `intended` (index into Worker::stage_schedule)
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
  // https only: per stage of the handshake's start, plus one last slot for "no stage"; one
  // record per new connection.
  std::vector<HandshakeStats> handshakes;
  // Response checks by name (empty when the workload declares none): the run's, and since the
  // last tick (by completion, for the Prometheus counters).
  CheckCounts checks_total;
  CheckCounts checks_interval;
  // Sessions by Workload::session_names (empty when the workload has none): the run's, and
  // since the last tick (for the Prometheus counters).
  std::vector<SessionCounts> sessions_total;
  std::vector<SessionCounts> sessions_interval;
  // The --intervals-out lines' side: requests by the second they were sent in (open model: their
  // intended send time), so a request that completes late still counts in its own second; and
  // the schedule of the arrivals (iterations) by the second they were intended for, so each line
  // has offered = sent + dropped + unsent of its own arrivals. Keys are >= `seconds_floor`, the
  // next second the coordinator writes. A second is written only once nothing of it can come
  // any more (Coordinator::busy), so something is booked below the floor only after the final
  // flush, when no line is written any more.
  struct Second {
    // The requests are kept as samples while they are few: a Stats is two dense histograms
    // (~0.5 MB), and a second whose line waits for a backlog may wait long while later seconds
    // collect requests (a flow's later steps count in the second they are sent in). Past
    // kSamples they go into `stats` (and `names`, with more than one name).
    static constexpr std::size_t kSamples = 4096;
    struct Sample {
      std::int64_t corrected_ns;
      std::int64_t actual_ns;
      std::uint32_t name;
      Outcome outcome;
    };
    std::vector<Sample> samples;
    std::unique_ptr<Stats> stats;
    std::vector<Stats> names;
    CheckCounts checks;
    ScheduleCounts schedule;
    std::vector<SessionCounts> sessions;  // by Workload::session_names, sized on first use

    // `names_count`: how many names the workload has.
    void record(std::size_t name, std::size_t names_count, Outcome outcome,
                std::chrono::nanoseconds corrected, std::chrono::nanoseconds actual) {
      if (!stats) {
        if (samples.size() < kSamples) {
          samples.push_back(
              {corrected.count(), actual.count(), static_cast<std::uint32_t>(name), outcome});
          return;
        }
        auto folded = std::make_unique<Stats>();
        std::vector<Stats> by_name(names_count > 1 ? names_count : 0);
        add_to(*folded, by_name);
        stats = std::move(folded);
        names = std::move(by_name);
        samples = {};
      }
      stats->record(outcome, corrected, actual);
      if (name < names.size()) names[name].record(outcome, corrected, actual);
    }
    // Adds this second's requests to `into` and, by name, to `by_name` (when it has more than
    // one entry).
    void add_to(Stats& into, std::vector<Stats>& by_name) const {
      if (stats) {
        into.merge(*stats);
        for (std::size_t n = 0; n < names.size() && n < by_name.size(); ++n)
          by_name[n].merge(names[n]);
      }
      for (const Sample& x : samples) {
        const std::chrono::nanoseconds corrected(x.corrected_ns), actual(x.actual_ns);
        into.record(x.outcome, corrected, actual);
        if (by_name.size() > 1 && x.name < by_name.size())
          by_name[x.name].record(x.outcome, corrected, actual);
      }
    }
  };
  std::map<std::int64_t, Second> seconds;
  std::int64_t seconds_floor = 0;
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
  // Sessions, by session entry (Workload::session_names): whether the previous session of that
  // entry on this connection (open model) or user (closed and max models) ended early, so the
  // next one opened is a reconnect; and the last SSE event id it saw (sent as Last-Event-ID).
  struct SessionMemory {
    bool ended_early = false;
    std::string last_event_id;
  };
  std::vector<SessionMemory> sessions;
  SessionMemory& session_memory(std::size_t session) {
    if (session >= sessions.size()) sessions.resize(session + 1);
    return sessions[session];
  }
  std::optional<Job> job;
  // A lower bound of the intended send time (ticks()) of any request this connection has yet to
  // record, kNoRequest when it has none: set when it is handed a job (before the scheduler or
  // the backlog lets go of it) or starts an iteration, moved on by each request of a flow, reset
  // once the job is done. It holds the --intervals-out line of that second (Coordinator::busy).
  // Written by the worker's thread (release), read by the coordinator (acquire).
  std::atomic<std::int64_t> holds{kNoRequest};
  void hold(TimePoint intended) { holds.store(ticks(intended), std::memory_order_release); }
  void release() { holds.store(kNoRequest, std::memory_order_release); }
  // Holds the current time, then returns it read again (>= what it holds): the closed and max
  // models' iterations start now, and a second cannot be written between the two reads.
  TimePoint hold_now() {
    hold(Clock::now());
    return Clock::now();
  }
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
  // so the hot path allocates no extra frame. Asio 1.81 tries a speculative recv on every call
  // (it skips it only after EOF), so right after a request this costs one recv that fails with
  // EAGAIN before the reactor wait; async_wait + a non-blocking read_some avoids that recv but
  // re-arms the descriptor with one epoll_ctl(EPOLL_CTL_MOD) per call instead, and measured no
  // cheaper (docs/benchmarks.md, "faultline load").
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
  // Cumulative schedule counters, written by this worker's thread and read by the coordinator
  // every second (relaxed); `stage_schedule` holds the same per stage and is read only once the
  // workers are stopped. `sent` is counted only in the open model (closed/max: sent = offered).
  std::atomic<std::uint64_t> offered{0}, sent{0}, late{0}, dropped{0}, backlog_size{0};
  std::vector<ScheduleCounts> stage_schedule;
  std::uint64_t overdue = 0;  // open model: due before the stop, never released (see drivers.cpp)
  std::atomic<std::int64_t> max_lag_ns{0};
  std::atomic<int> drivers{0};                    // live driver coroutines
  asio::steady_timer* scheduler_timer = nullptr;  // open model, to cut its wait short at stop
  std::atomic<bool> schedule_done{false};         // open model: no more arrivals
  std::atomic<std::uint64_t> jobs_done{0};        // iterations finished (any outcome)
  // Open model: the intended send times (ticks()) of the next arrival the scheduler has not
  // released yet, and of the backlog's first (= earliest) arrival; kNoRequest when there is
  // none. With Conn::holds they say which seconds still wait for a request: an arrival is
  // always counted in at least one of them (the next place is set before the previous one lets
  // go), and the coordinator reads them in the order an arrival moves: scheduler, backlog,
  // connection. Written by this worker's thread (release), read by the coordinator (acquire).
  std::atomic<std::int64_t> unreleased{kNoRequest};
  std::atomic<std::int64_t> backlog_front{kNoRequest};
  inline void push_backlog(const Job& job);
  // Hands the backlog's first arrival to `c` (counting it sent, late).
  inline void pop_backlog(Conn* c);
  // Counts a schedule event of an arrival (closed and max models: an iteration) in the second it
  // was intended for: `fn(ScheduleCounts&)` under `mu`. Called before the arrival moves on (see
  // `unreleased`), so its second's line has it.
  template <class Fn>
  void count_in_second(TimePoint intended, Fn&& fn);

  inline void record(std::size_t name, TimePoint intended, TimePoint sent_at, TimePoint done,
                     Outcome outcome, const CheckResults* checks);
  // Only this worker's thread writes the schedule counters (the coordinator reads them): no
  // atomic RMW needed.
  static void bump(std::atomic<std::uint64_t>& c) {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  ScheduleCounts& schedule_of(std::size_t stage) {
    return stage_schedule[std::min(stage, stage_schedule.size() - 1)];
  }
  // Around one request: counts it in flight and returns its send time; then records it.
  // Only this worker's thread writes in_flight (the coordinator reads it): no atomic RMW needed.
  // `intended`: the time the request is attributed to (see WorkerStats::seconds); `c` holds it
  // from now on (Conn::holds; its driver releases it once the job is done).
  inline TimePoint begin_request(Conn* c, TimePoint intended);
  // Adds `delta` to session entry `session`'s counts: the run's, the tick's and those of the
  // second `at` falls in (the time the connection holds, so the line waits for it).
  inline void record_session(std::size_t session, TimePoint at, const SessionCounts& delta);
  // Once per new TLS connection (not on the per-request path).
  inline void record_handshake(bool ok, TimePoint started, Clock::duration took);
  void end_request(std::size_t name, TimePoint intended, TimePoint sent_at, Outcome outcome,
                   const CheckResults* checks = nullptr) {
    const TimePoint done = Clock::now();
    in_flight.store(in_flight.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    record(name, intended, sent_at, done, outcome, checks);
  }
};

struct Engine {
  const EngineConfig& cfg;
  Workload& workload;
  std::vector<tcp::endpoint> endpoints;
  std::shared_ptr<ssl::context> tls_ctx;  // https only
  tls::ClientConfig tls_config;           // what tls_ctx was made from (SNI, verification)
  TimePoint start;
  TimePoint end;
  double start_unix = 0;  // `start` as Unix time (on every interval line, to line shards up)
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
                       !entry.steps[0].prerendered.empty() && entry.steps[0].captures.empty() &&
                       entry.steps[0].checks.empty();
      simple.push_back(one ? &entry.steps[0] : nullptr);
      simple_head.push_back(one && entry.steps[0].method == "HEAD");
    }
  }
  double elapsed(TimePoint t) const { return std::chrono::duration<double>(t - start).count(); }
  // The whole second of the run `t` falls in (0 before the start).
  std::int64_t second_of(TimePoint t) const {
    return t <= start ? 0 : std::chrono::duration_cast<std::chrono::seconds>(t - start).count();
  }
  std::size_t stage_of(TimePoint t) const {
    return cfg.replay ? 0 : cfg.profile.stage_at(elapsed(t));
  }
  // Whether every driver coroutine has ended.
  bool drivers_done() const {
    for (const auto& w : workers)
      if (w->drivers.load() != 0) return false;
    return true;
  }
  // The profile's level (rate or users) at `t`; 0 in the max model and when replaying.
  double level_at(TimePoint t) const {
    if (cfg.replay || cfg.model == Model::max) return 0.0;
    return cfg.profile.level_at(elapsed(t));
  }
  // This process's share of a level: shards split rates evenly.
  double users_scale() const { return 1.0 / static_cast<double>(cfg.shards); }
  // Closed model: users u < level with u % shards == shard belong to this process.
  double own_users(double level) const {
    const auto all = static_cast<std::size_t>(std::floor(level + 1e-9));
    return all > cfg.shard ? static_cast<double>((all - cfg.shard + cfg.shards - 1) / cfg.shards)
                           : 0.0;
  }
};

inline void Worker::record(std::size_t name, TimePoint intended, TimePoint sent_at, TimePoint done,
                           Outcome outcome, const CheckResults* checks) {
  const auto corrected = std::chrono::duration_cast<std::chrono::nanoseconds>(done - intended);
  const auto actual = std::chrono::duration_cast<std::chrono::nanoseconds>(done - sent_at);
  const std::size_t stage = std::min(engine->stage_of(intended), stats.stages.size());
  const std::int64_t second = engine->second_of(intended);
  std::lock_guard lock(mu);
  stats.pending[stage].record(outcome, corrected, actual);
  const bool by_name = stats.names_interval.size() > 1 && name < stats.names_interval.size();
  if (by_name) stats.names_interval[name].record(outcome, corrected, actual);
  WorkerStats::Second& sec = stats.seconds[std::max(second, stats.seconds_floor)];
  sec.record(name, stats.names_interval.size(), outcome, corrected, actual);
  if (checks && !checks->empty()) {
    if (sec.checks.empty()) sec.checks.resize(stats.checks_total.passed.size());
    for (const auto& [check, ok] : *checks) {
      stats.checks_interval.add(check, ok);
      sec.checks.add(check, ok);
    }
  }
}

template <class Fn>
void Worker::count_in_second(TimePoint intended, Fn&& fn) {
  const std::int64_t second = engine->second_of(intended);
  std::lock_guard lock(mu);
  fn(stats.seconds[std::max(second, stats.seconds_floor)].schedule);
}

inline void Worker::push_backlog(const Job& job) {
  if (backlog.empty()) backlog_front.store(ticks(job.intended), std::memory_order_release);
  backlog.push_back(job);
  backlog_size.store(backlog.size(), std::memory_order_relaxed);
}

inline void Worker::pop_backlog(Conn* c) {
  c->job = backlog.front();
  count_in_second(c->job->intended, [](ScheduleCounts& s) {
    ++s.sent;
    ++s.late;
  });
  c->hold(c->job->intended);
  backlog.pop_front();
  backlog_front.store(backlog.empty() ? kNoRequest : ticks(backlog.front().intended),
                      std::memory_order_release);
  backlog_size.store(backlog.size(), std::memory_order_relaxed);
}

inline TimePoint Worker::begin_request(Conn* c, TimePoint intended) {
  in_flight.store(in_flight.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  c->hold(intended);
  return Clock::now();
}

inline void Worker::record_session(std::size_t session, TimePoint at, const SessionCounts& delta) {
  const std::int64_t second = engine->second_of(at);
  std::lock_guard lock(mu);
  if (session >= stats.sessions_total.size()) return;
  stats.sessions_total[session] += delta;
  stats.sessions_interval[session] += delta;
  auto& in_second = stats.seconds[std::max(second, stats.seconds_floor)].sessions;
  if (in_second.size() < stats.sessions_total.size()) in_second.resize(stats.sessions_total.size());
  in_second[session] += delta;
}

inline void Worker::record_handshake(bool ok, TimePoint started, Clock::duration took) {
  if (stats.handshakes.empty()) return;
  const std::size_t stage = std::min(engine->stage_of(started), stats.handshakes.size() - 1);
  std::lock_guard lock(mu);
  stats.handshakes[stage].record(ok, std::chrono::duration_cast<std::chrono::nanoseconds>(took));
}

// Folds what `w` recorded since the last call into its totals and stages (and, when given, into
// the interval sums). Caller holds w.mu or the workers are stopped.
void fold_pending(Worker& w, Stats* interval, std::vector<Stats>* names_interval,
                  CheckCounts* checks_interval = nullptr,
                  std::vector<SessionCounts>* sessions_interval = nullptr);

}  // namespace faultline::loadgen::detail
