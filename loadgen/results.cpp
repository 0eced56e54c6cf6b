// The --intervals-out lines and the results document of a run (see detail/results.hpp).
#include "loadgen/detail/results.hpp"

#include <algorithm>

namespace faultline::loadgen::detail {

json interval_line(double t, double seconds, const Stats& s, const std::vector<Stats>& names,
                   const std::vector<std::string>& name_list, std::int64_t in_flight,
                   std::uint64_t backlog, double offered_level, std::size_t stage,
                   const ScheduleCounts& schedule) {
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
  // Every arrival is counted in the second it was intended for (readers tell these lines from
  // older ones, whose counters were by the second the generator saw them, by "attributed").
  j["schedule"] = {{"offered", schedule.offered}, {"sent", schedule.sent},
                   {"late", schedule.late},       {"dropped", schedule.dropped},
                   {"unsent", schedule.unsent},   {"backlog", backlog},
                   {"attributed", "intended"}};
  return j;
}

json results_json(const Engine& e, const RunSummary& run) {
  const EngineConfig& cfg = e.cfg;
  const std::size_t stage_count = cfg.replay ? 1 : cfg.profile.stages().size();
  const std::size_t names = e.workload.request_names.size();
  const double users_scale = e.users_scale();
  Stats total;
  HandshakeStats handshakes;
  std::vector<HandshakeStats> stage_handshakes(stage_count);
  std::vector<Stats> stages(stage_count);
  std::vector<Stats> by_name(names);
  // The workers are stopped: their per-stage counters are final. Closed and max models count
  // iterations as offered; each was sent at once.
  const bool open_model = cfg.model == Model::open;
  ScheduleCounts sum;
  std::vector<ScheduleCounts> stage_sched(stage_count);
  for (const auto& w : e.workers)
    for (std::size_t s = 0; s < stage_count && s < w->stage_schedule.size(); ++s) {
      ScheduleCounts c = w->stage_schedule[s];
      if (!open_model) c.sent = c.offered;
      stage_sched[s] += c;
    }
  for (const ScheduleCounts& t : stage_sched)
    sum += t;
  for (const auto& w : e.workers) {
    total.merge(w->stats.total);
    for (std::size_t s = 0; s < w->stats.handshakes.size(); ++s) {
      handshakes.merge(w->stats.handshakes[s]);
      if (s < stage_count) stage_handshakes[s].merge(w->stats.handshakes[s]);
    }
    for (std::size_t s = 0; s < stage_count; ++s)
      stages[s].merge(w->stats.stages[s]);
    if (names > 1)
      for (std::size_t n = 0; n < names; ++n)
        by_name[n].merge(w->stats.names_total[n]);
  }
  if (names == 1) by_name[0] = total;
  const double duration = run.duration_seconds;
  json out = total.to_json(duration, true);
  out["version"] = 1;
  out["url"] = std::string(cfg.url.scheme()) + "://" + cfg.url.host_header + cfg.url.target;
  out["model"] = cfg.replay ? "replay" : model_name(cfg.model);
  out["interrupted"] = run.interrupted;
  out["duration_seconds"] = duration;
  out["threads"] = e.workers.size();
  out["connections"] = cfg.connections;
  out["seed"] = cfg.seed;
  out["shard"] = {{"index", cfg.shard}, {"count", cfg.shards}};
  json sched = sum.to_json();
  sched["offered_rps"] = static_cast<double>(sum.offered) / duration;
  sched["max_scheduler_lag_seconds"] = static_cast<double>(run.max_lag_ns) / 1e9;
  out["schedule"] = std::move(sched);
  add_never_sent(out, sum.never_sent());
  out["generator"] = {{"cpu_saturated_seconds", run.saturated_seconds},
                      {"cpu_saturated", run.saturated_seconds > 0}};
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
    j["schedule"] = stage_sched[s].to_json();
    add_never_sent(j, stage_sched[s].never_sent());
    if (cfg.url.tls) j["tls"] = stage_handshakes[s].to_json();
    st.push_back(std::move(j));
  }
  out["stages"] = std::move(st);
  json by = json::object();
  for (std::size_t n = 0; n < names; ++n)
    by[e.workload.request_names[n]] = by_name[n].to_json(duration, true);
  out["requests_by_name"] = std::move(by);
  if (cfg.url.tls) out["tls"] = handshakes.to_json();
  if (!e.workload.check_names.empty()) {
    CheckCounts checks;
    checks.resize(e.workload.check_names.size());
    for (const auto& w : e.workers)
      checks.merge(w->stats.checks_total);
    out["checks"] = checks.to_json(e.workload.check_names);
  }
  if (!e.workload.session_names.empty()) {
    std::vector<SessionCounts> sessions(e.workload.session_names.size());
    for (const auto& w : e.workers)
      for (std::size_t i = 0; i < sessions.size() && i < w->stats.sessions_total.size(); ++i)
        sessions[i] += w->stats.sessions_total[i];
    out["sessions"] = sessions_to_json(e.workload.session_names, sessions);
  }
  return out;
}

}  // namespace faultline::loadgen::detail
