// The per-second coordinator: tick (intervals line, metrics, progress, CPU watch), the wait for
// the end of the run and the drain after it (see detail/coordinator.hpp).
#include "loadgen/detail/coordinator.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "loadgen/detail/results.hpp"

namespace faultline::loadgen::detail {
namespace {

// CPU time (user + system) this process used so far.
double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

void fold_pending(Worker& w, Stats* interval, std::vector<Stats>* names_interval,
                  CheckCounts* checks_interval, std::vector<SessionCounts>* sessions_interval) {
  WorkerStats& st = w.stats;
  for (std::size_t i = 0; i < st.sessions_interval.size(); ++i) {
    if (st.sessions_interval[i].empty()) continue;
    if (sessions_interval && i < sessions_interval->size())
      (*sessions_interval)[i] += st.sessions_interval[i];
    st.sessions_interval[i] = {};
  }
  if (!st.checks_interval.empty()) {
    st.checks_total.merge(st.checks_interval);
    if (checks_interval) checks_interval->merge(st.checks_interval);
    st.checks_interval.reset();
  }
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

Coordinator::Coordinator(Engine& e) : e_(e), names_interval_(e.workload.request_names.size()) {
  checks_interval_.resize(e.workload.check_names.size());
  sessions_interval_.resize(e.workload.session_names.size());
  if (!e.cfg.intervals_out.empty()) {
    std::string error;
    if (!intervals_.open(e.cfg.intervals_out, error))
      throw ConfigError("--intervals-out: " + error);
    next_roll_ = e.cfg.intervals_roll_seconds;
  }
}

bool Coordinator::replay_answered() const {
  for (const auto& w : e_.workers)
    if (!(w->schedule_done.load() && w->jobs_done.load() + w->dropped.load() == w->offered.load()))
      return false;
  return true;
}

bool Coordinator::run(StopSignals& stop) {
  last_cpu_ = process_cpu_seconds();
  last_tick_ = e_.start;
  seconds_ = IntervalSeconds(e_.elapsed(e_.end));
  TimePoint next = e_.start + std::chrono::seconds(1);
  for (;;) {
    bool all_done = e_.drivers_done();
    TimePoint wake = std::min(next, e_.end);
    // A second that ended with requests still to come is written as soon as they are done.
    if (seconds_.pending()) wake = std::min(wake, Clock::now() + std::chrono::milliseconds(50));
    if (e_.cfg.replay) {
      // A replay is over once every request was sent and answered.
      all_done = all_done || replay_answered();
      wake = std::min(wake, Clock::now() + std::chrono::milliseconds(20));
    }
    const TimePoint until = all_done ? Clock::now() : wake;
    if (stop.wait_for(until - Clock::now())) return true;
    const TimePoint now = Clock::now();
    if (now >= next) {
      tick(now, false);
      // After a stall, one tick closes every second that passed (each gets its own line); the
      // next tick is at the next whole second, not a catch-up series.
      next = e_.start + std::chrono::seconds(e_.second_of(now) + 1);
    } else if (seconds_.pending()) {
      write_ready(now, false);
    }
    if (now >= e_.end || all_done) return false;
  }
}

bool Coordinator::drain(StopSignals& stop) {
  bool interrupted = false;
  const TimePoint grace = Clock::now() + e_.cfg.timeout + std::chrono::seconds(1);
  while (!e_.drivers_done() && Clock::now() < grace) {
    // A stop signal is latched: once taken, wait_for returns at once, so sleep instead.
    if (interrupted)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    else
      interrupted = stop.wait_for(std::chrono::milliseconds(10)).has_value();
  }
  return interrupted;
}

void Coordinator::watch_cpu(double seconds) {
  // Generator CPU: saturated when the process used ≥ 90 % of its threads' cores.
  const std::size_t threads = e_.workers.size();
  const double cpu_now = process_cpu_seconds();
  const double cpu_share = seconds > 0 ? (cpu_now - last_cpu_) / seconds : 0;
  last_cpu_ = cpu_now;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  if (cpu_share >= 0.9 * static_cast<double>(std::min<std::size_t>(threads, cores))) {
    ++saturated_seconds_;
    if (!warned_saturated_) {
      warned_saturated_ = true;
      spdlog::warn(
          "the load generator itself is CPU-saturated ({:.0f}% of {} thread(s)); "
          "latencies include its own queueing — use more --threads or machines",
          cpu_share * 100, threads);
    }
  }
}

void Coordinator::tick(TimePoint now, bool final_tick, std::uint64_t unsent, TimePoint stopped_at) {
  const EngineConfig& cfg = e_.cfg;
  interval_sum_.reset();
  checks_interval_.reset();
  for (auto& s : names_interval_)
    s.reset();
  for (auto& s : sessions_interval_)
    s = {};
  std::int64_t in_flight = 0;
  IntervalSchedule total;  // cumulative counters of every worker
  for (auto& w : e_.workers) {
    {
      std::lock_guard lock(w->mu);
      fold_pending(*w, &interval_sum_, &names_interval_, &checks_interval_, &sessions_interval_);
    }
    in_flight += w->in_flight.load(std::memory_order_relaxed);
    // Read in the reverse order of the worker's increments (an arrival is offered, then sent,
    // then counted late), so that a second's late <= sent and sent <= offered + backlog.
    total.late += w->late.load(std::memory_order_relaxed);
    total.sent += w->sent.load(std::memory_order_relaxed);
    total.dropped += w->dropped.load(std::memory_order_relaxed);
    total.backlog += w->backlog_size.load(std::memory_order_relaxed);
    total.offered += w->offered.load(std::memory_order_relaxed);
    max_lag_ns_ = std::max(max_lag_ns_, w->max_lag_ns.exchange(0));
  }
  const double seconds = std::chrono::duration<double>(now - last_tick_).count();
  const double t = e_.elapsed(now);
  // Closed and max models send each iteration as it starts.
  if (cfg.model != Model::open) total.sent = total.offered;
  // What the tick saw since the last one, for the metrics (the lines count by intended second).
  const IntervalSchedule sched{total.offered - last_.offered, total.sent - last_.sent,
                               total.late - last_.late, total.dropped - last_.dropped,
                               total.backlog};
  last_ = total;
  if (final_tick) {
    // Every second up to the one sending stopped in (and any later one something was counted
    // in) gets its line; the arrivals never sent are each in their own second's (`unsent`,
    // counted by stop_connections), the backlog is empty now.
    std::int64_t last =
        std::max(seconds_.closed() - 1, e_.second_of(stopped_at - std::chrono::nanoseconds(1)));
    for (auto& w : e_.workers) {
      std::lock_guard lock(w->mu);
      if (!w->stats.seconds.empty()) last = std::max(last, w->stats.seconds.rbegin()->first);
    }
    if (last >= seconds_.closed()) close_seconds({seconds_.closed(), last + 1}, 0, in_flight);
    seconds_.close(static_cast<double>(last + 1));
    write_ready(now, true, last);
  } else {
    close_seconds(seconds_.close(t), total.backlog, in_flight);
    write_ready(now, false);
  }
  const double level = e_.level_at(now);
  const double offered_rate = cfg.model == Model::open ? level * e_.users_scale() : 0.0;
  if (final_tick && interval_sum_.total == 0 && sched.offered == 0 && sched.sent == 0 &&
      sched.dropped == 0 && unsent == 0)
    return;
  watch_cpu(seconds);
  if (metrics_) {
    metrics_->observe(interval_sum_);
    metrics_->observe_checks(checks_interval_);
    metrics_->observe_sessions(sessions_interval_);
    metrics_->in_flight->Set(static_cast<double>(in_flight));
    metrics_->backlog->Set(static_cast<double>(total.backlog));
    metrics_->offered_rate->Set(offered_rate);
    metrics_->users->Set(cfg.model == Model::closed ? e_.own_users(level) : 0.0);
    metrics_->sent->Increment(static_cast<double>(sched.sent));
    metrics_->late->Increment(static_cast<double>(sched.late));
    metrics_->dropped->Increment(static_cast<double>(sched.dropped));
    metrics_->unsent->Increment(static_cast<double>(unsent));
  }
  if (cfg.progress) {
    ProgressSample sample{t, seconds, &interval_sum_, {}, in_flight, total.backlog};
    char b[64];
    if (cfg.model == Model::open && !cfg.replay) {
      std::snprintf(b, sizeof b, " (offered %.0f/s)", level * e_.users_scale());
      sample.offered = b;
    } else if (cfg.model == Model::closed) {
      std::snprintf(b, sizeof b, " (%.0f users)", e_.own_users(level));
      sample.offered = b;
    }
    progress_.print(sample);
  }
  last_tick_ = now;
}

void Coordinator::close_seconds(std::pair<std::int64_t, std::int64_t> range, std::uint64_t backlog,
                                std::int64_t in_flight) {
  for (std::int64_t s = range.first; s < range.second; ++s) {
    ClosedSecond& c = closed_[s];
    c.in_flight = in_flight;
    // Seconds of a stall keep the backlog of the second before it: the generator saw it last.
    c.backlog = s + 1 == range.second ? backlog : last_backlog_;
  }
  if (range.first < range.second) last_backlog_ = backlog;
}

bool Coordinator::busy(std::int64_t s) const {
  // Seconds are written in order, so "a request intended before the end of `s`" is the same as
  // "a request of `s`" (the earlier seconds were written once they had none).
  const std::int64_t end = ticks(e_.start + std::chrono::seconds(s + 1));
  for (const auto& w : e_.workers) {
    // In the order an arrival moves through them: one moving meanwhile is seen where it was or
    // where it went (each place is set before the one before it lets go).
    if (w->unreleased.load(std::memory_order_acquire) < end) return true;
    if (w->backlog_front.load(std::memory_order_acquire) < end) return true;
    for (const auto& c : w->conns)
      if (c->holds.load(std::memory_order_acquire) < end) return true;
  }
  return false;
}

void Coordinator::write_ready(TimePoint now, bool final_tick, std::int64_t last) {
  if (final_tick) {
    while (seconds_.next() <= last) {
      write_second(seconds_.next(), true, seconds_.next() == last);
      seconds_.written();
    }
    return;
  }
  const double t = e_.elapsed(now);
  while (const auto s = seconds_.next_ready(t, [this](std::int64_t k) { return busy(k); })) {
    write_second(*s, false, false);
    seconds_.written();
  }
}

void Coordinator::write_second(std::int64_t s, bool final_tick, bool take_later) {
  const EngineConfig& cfg = e_.cfg;
  Stats line_stats;
  std::vector<Stats> names(e_.workload.request_names.size());
  ScheduleCounts schedule;
  CheckCounts checks;
  checks.resize(e_.workload.check_names.size());
  std::vector<SessionCounts> sessions(e_.workload.session_names.size());
  for (auto& w : e_.workers) {
    std::lock_guard lock(w->mu);
    auto& secs = w->stats.seconds;
    for (auto it = secs.begin(); it != secs.end() && (it->first <= s || take_later);) {
      it->second.add_to(line_stats, names);
      schedule += it->second.schedule;
      checks.merge(it->second.checks);
      for (std::size_t k = 0; k < it->second.sessions.size() && k < sessions.size(); ++k)
        sessions[k] += it->second.sessions[k];
      it = secs.erase(it);
    }
    w->stats.seconds_floor = s + 1;
  }
  if (names.size() == 1) names[0] = line_stats;
  ClosedSecond closed;
  if (const auto it = closed_.find(s); it != closed_.end()) {
    closed = it->second;
    closed_.erase(it);
  }
  if (!intervals_.is_open()) return;
  const double t = static_cast<double>(s + 1);
  const TimePoint at = e_.start + std::chrono::seconds(s + 1) - std::chrono::milliseconds(1);
  const double offered_rate =
      cfg.model == Model::open ? e_.level_at(std::min(at, e_.end)) * e_.users_scale() : 0.0;
  const std::size_t stage = cfg.replay ? 0 : cfg.profile.stage_at(t);
  json line = interval_line(t, 1.0, line_stats, names, e_.workload.request_names, closed.in_flight,
                            closed.backlog, offered_rate, stage, schedule);
  if (!checks.empty()) line["checks"] = checks.to_json(e_.workload.check_names);
  // The sessions that opened and ended in this second (by the time their connection held).
  if (!sessions.empty()) line["sessions"] = sessions_to_json(e_.workload.session_names, sessions);
  // What `report merge --intervals` needs to line shards up (loadgen/interval_merge.hpp).
  line["seconds"] = 1.0;
  line["start_unix"] = e_.start_unix;
  line["model"] = cfg.replay ? "replay" : model_name(cfg.model);
  line["shard"] = fmt::format("{}/{}", cfg.shard, cfg.shards);
  const bool ok = intervals_.write(line.dump());
  if (!ok && !write_failed_) {
    write_failed_ = true;
    spdlog::error("--intervals-out: cannot write {} (is the disk full?)", e_.cfg.intervals_out);
  }
  if (next_roll_ > 0 && t >= next_roll_ && !final_tick) {
    std::string error;
    if (!intervals_.roll(error)) spdlog::warn("--intervals-out: {}", error);
    while (next_roll_ <= t)
      next_roll_ += e_.cfg.intervals_roll_seconds;
  }
}

void Coordinator::finish() const {
  if (e_.cfg.progress) progress_.finish();
}

}  // namespace faultline::loadgen::detail
