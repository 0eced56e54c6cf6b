// The open, closed and max drivers, the iteration they run, and spawning/stopping them (see
// detail/drivers.hpp).
#include "loadgen/detail/drivers.hpp"

#include <cmath>
#include <future>
#include <limits>
#include <random>

#include <spdlog/spdlog.h>

#include "loadgen/detail/connection.hpp"
#include "loadgen/http1.hpp"
#include "loadgen/sse.hpp"
#include "loadgen/websocket.hpp"

namespace faultline::loadgen::detail {
namespace {

// Closed and max models: an iteration is offered and sent as it starts.
void count_iteration(ScheduleCounts& s) {
  ++s.offered;
  ++s.sent;
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
  auto doc = parse_json_or_discarded(r.body);
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
    append_to_target(bytes, request.target);  // a url the server returned: no CRLF gets through
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

// One iteration of a workload entry (request, flow, generator or session), or one replayed
// request.
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
  if (entry.ws) {
    co_await run_ws_session(c, entry, job);
    co_return;
  }
  if (entry.sse) {
    co_await run_sse_session(c, entry, job);
    co_return;
  }
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
      if (!render_request(scratch, step, e.cfg.url.host_header, vars, w->rng, ++w->seq)) {
        // A captured value would have split the request: counted, not sent; the flow stops as
        // after any failed step.
        w->end_request(step.name_index, intended, w->begin_request(c, intended),
                       Outcome::invalid_request);
        break;
      }
      bytes = &scratch;
    }
    const bool keep = !step.captures.empty();
    StepResult r = co_await send_request(c, step.name_index, bytes, is_head(step.method), keep,
                                         intended, &step.checks);
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
    // The connection still holds the previous step's (earlier) time until the next one is sent.
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
        w->pop_backlog(c);
        // Sent now, after waiting in the backlog for a free connection.
        Worker::bump(w->sent);
        Worker::bump(w->late);
        ScheduleCounts& sc = w->schedule_of(c->job->stage);
        ++sc.sent;
        ++sc.late;
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
      const TimePoint sent = w->begin_request(c, job.intended);
      const Outcome o =
          co_await exchange(c, &step->prerendered, e.simple_head[job.entry], nullptr, sent);
      w->end_request(step->name_index, job.intended, sent, o);
    } else {
      co_await run_job(c, job);
    }
    c->release();
  }
  c->release();
  c->stopped = true;
  c->watchdog.cancel();
  c->close();
  --w->drivers;
}

// Open model: issues arrivals at their scheduled instants to idle connections, queueing the
// rest (never skipping them). Counts every arrival it releases as offered, and then as sent
// (handed to an idle connection), queued (sent and late later, or unsent at the end) or dropped.
awaitable<void> scheduler_loop(Worker* w, std::size_t sender, std::size_t senders) {
  Engine& e = *w->engine;
  asio::steady_timer timer(*w->ioc);
  w->scheduler_timer = &timer;
  std::optional<ArrivalSchedule> schedule;
  if (!e.cfg.replay) schedule.emplace(e.cfg.profile, sender, senders);
  std::size_t replay_next = sender;
  std::uint64_t replay_k = 0;
  // This sender's next arrival before the end of the run (the workload entry is picked only when
  // `pick`); nullopt once there is none.
  auto next_arrival = [&](bool pick) -> std::optional<Job> {
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
      if (at && pick) entry = e.workload.pick(w->rng);
    }
    if (!at) return std::nullopt;
    const TimePoint intended =
        e.start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(*at));
    if (intended >= e.end) return std::nullopt;
    return Job{intended, entry, e.stage_of(intended)};
  };
  for (;;) {
    std::optional<Job> job = next_arrival(true);
    if (!job) break;
    // Until it is released, this arrival holds its second's line (and every later one's).
    w->unreleased.store(ticks(job->intended), std::memory_order_release);
    if (job->intended > Clock::now()) {
      timer.expires_at(job->intended);
      co_await timer.async_wait(use_nothrow);
    }
    if (e.stopping.load(std::memory_order_relaxed)) {
      // Arrivals already due when sending stopped that this scheduler had not released yet (it
      // lagged behind, e.g. on a saturated thread): offered, and never sent.
      const TimePoint cutoff = Clock::now();
      for (; job && job->intended <= cutoff; job = next_arrival(false)) {
        Worker::bump(w->offered);
        ScheduleCounts& sc = w->schedule_of(job->stage);
        ++sc.offered;
        ++sc.unsent;
        ++w->overdue;
        w->count_in_second(job->intended, [](ScheduleCounts& s) {
          ++s.offered;
          ++s.unsent;
        });
      }
      break;
    }
    const auto lag =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - job->intended);
    if (lag.count() > w->max_lag_ns.load(std::memory_order_relaxed))
      w->max_lag_ns.store(lag.count(), std::memory_order_relaxed);
    Worker::bump(w->offered);
    ScheduleCounts& sc = w->schedule_of(job->stage);
    ++sc.offered;
    if (!w->idle.empty()) {
      Conn* c = w->idle.back();
      w->idle.pop_back();
      c->job = *job;
      w->count_in_second(job->intended, [](ScheduleCounts& s) {
        ++s.offered;
        ++s.sent;
      });
      c->hold(job->intended);
      c->wake.cancel();
      Worker::bump(w->sent);
      ++sc.sent;
    } else if (w->backlog.size() < e.cfg.backlog_limit) {
      w->count_in_second(job->intended, [](ScheduleCounts& s) { ++s.offered; });
      w->push_backlog(*job);
    } else {
      w->count_in_second(job->intended, [](ScheduleCounts& s) {
        ++s.offered;
        ++s.dropped;
      });
      Worker::bump(w->dropped);
      ++sc.dropped;
    }
  }
  w->unreleased.store(kNoRequest, std::memory_order_release);
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
    const TimePoint now = c->hold_now();
    if (now >= e.end) break;
    const double level = e.cfg.profile.level_at(e.elapsed(now));
    if (static_cast<double>(user) >= std::floor(level + 1e-9)) {
      c->release();
      if (c->open) c->close();
      timer.expires_after(std::chrono::milliseconds(50));
      co_await timer.async_wait(use_nothrow);
      continue;
    }
    Worker::bump(w->offered);
    ++w->schedule_of(e.stage_of(now)).offered;
    w->count_in_second(now, count_iteration);
    co_await run_job(c, Job{now, e.workload.pick(w->rng)});
    c->release();
    if (e.cfg.think_max_seconds > 0) {
      const double think = std::uniform_real_distribution<double>(e.cfg.think_min_seconds,
                                                                  e.cfg.think_max_seconds)(w->rng);
      timer.expires_after(
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(think)));
      co_await timer.async_wait(use_nothrow);
    }
  }
  c->release();
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
    const TimePoint now = c->hold_now();  // the previous iteration's time until now
    if (e.stopping.load(std::memory_order_relaxed) || now >= e.end) break;
    Worker::bump(w->offered);
    ++w->schedule_of(e.stage_of(now)).offered;
    w->count_in_second(now, count_iteration);
    const std::size_t entry = e.workload.pick(w->rng);
    if (const StepSpec* step = e.simple_step(entry)) {
      const TimePoint sent = w->begin_request(c, now);
      const Outcome o =
          co_await exchange(c, &step->prerendered, e.simple_head[entry], nullptr, sent);
      w->end_request(step->name_index, now, sent, o);
    } else {
      co_await run_job(c, Job{now, entry});
    }
  }
  c->release();
  c->stopped = true;
  c->watchdog.cancel();
  c->close();
  --w->drivers;
}

// Splits `total` items over `parts` as evenly as possible; share of part i.
std::size_t share(std::size_t total, std::size_t parts, std::size_t i) {
  return total / parts + (i < total % parts ? 1 : 0);
}

}  // namespace

// Ends the open model's idle connections once the schedule is exhausted.
void release_idle(Worker* w) {
  for (Conn* c : w->idle)
    c->wake.cancel();
  if (w->scheduler_timer) w->scheduler_timer->cancel();
}

void spawn_drivers(Engine& e) {
  const EngineConfig& cfg = e.cfg;
  const std::size_t threads = e.workers.size();
  const std::size_t senders = threads * cfg.shards;
  for (std::size_t i = 0; i < threads; ++i) {
    Worker* w = e.workers[i].get();
    auto& ioc = *w->ioc;
    auto add_conn = [&]() {
      w->conns.push_back(std::make_unique<Conn>(w, ioc));
      Conn* c = w->conns.back().get();
      asio::co_spawn(ioc, watchdog_loop(c), log_exception("load watchdog"));
      return c;
    };
    const bool open = cfg.model == Model::open || cfg.replay;
    if (open) {
      // Every second waits for the scheduler until it published its first arrival.
      w->unreleased.store(std::numeric_limits<std::int64_t>::min(), std::memory_order_release);
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
}

std::uint64_t stop_connections(Engine& e) {
  std::uint64_t unsent = 0;
  for (auto& w : e.workers) {
    std::promise<std::uint64_t> p;
    auto f = p.get_future();
    asio::post(*w->ioc, [wp = w.get(), &p] {
      // Still queued: offered, never sent; together with the arrivals the scheduler never
      // released (it ended before this runs: the drain waited for it).
      for (const Job& j : wp->backlog) {
        ++wp->schedule_of(j.stage).unsent;
        wp->count_in_second(j.intended, [](ScheduleCounts& s) { ++s.unsent; });
      }
      p.set_value(wp->backlog.size() + wp->overdue);
      wp->backlog.clear();
      wp->backlog_size.store(0, std::memory_order_relaxed);
      wp->backlog_front.store(kNoRequest, std::memory_order_release);
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
  return unsent;
}

}  // namespace faultline::loadgen::detail
