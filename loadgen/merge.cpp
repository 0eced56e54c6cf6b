// `faultline report merge`: lossless merge of shard results (see merge.hpp).
#include "loadgen/merge.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include "loadgen/checks.hpp"
#include "loadgen/stats.hpp"

namespace faultline::loadgen {

json merge_results(const std::vector<json>& docs, const std::vector<std::string>& names) {
  if (docs.empty()) throw ConfigError("report merge: no results to merge");
  Stats total;
  double duration = 0;
  bool interrupted = false;
  ScheduleCounts schedule;
  std::uint64_t saturated = 0;
  double max_lag = 0;
  std::vector<Stats> stages;
  std::vector<ScheduleCounts> stage_schedule;
  std::vector<json> stage_meta;
  std::vector<double> stage_durations;
  std::map<std::string, Stats> by_name;
  std::optional<HandshakeStats> handshakes;  // https runs only
  CheckSums checks;                          // response checks, when the workload had them
  bool has_checks = false;
  std::map<std::size_t, HandshakeStats> stage_handshakes;
  std::map<std::string, SessionCounts> sessions;  // WebSocket and SSE sessions, by entry
  bool has_sessions = false;
  std::string model;
  for (std::size_t d = 0; d < docs.size(); ++d) {
    const json& doc = docs[d];
    const std::string& who = names[d];
    if (!doc.is_object() || !doc.contains("duration_seconds") ||
        !doc["duration_seconds"].is_number())
      throw ConfigError(who + ": not a faultline load results file (no duration_seconds)");
    total.merge(Stats::from_json(doc, who));
    duration = std::max(duration, doc["duration_seconds"].get<double>());
    interrupted = interrupted || doc.value("interrupted", false);
    const std::string m = doc.value("model", "");
    if (d == 0)
      model = m;
    else if (m != model)
      throw ConfigError(who + ": model \"" + m + "\" differs from \"" + model + "\"");
    if (auto s = doc.find("schedule"); s != doc.end() && s->is_object()) {
      schedule += ScheduleCounts::from_json(*s);
      max_lag = std::max(max_lag, s->value("max_scheduler_lag_seconds", 0.0));
    }
    if (auto g = doc.find("generator"); g != doc.end() && g->is_object())
      saturated = std::max(saturated, g->value("cpu_saturated_seconds", std::uint64_t{0}));
    if (auto st = doc.find("stages"); st != doc.end() && st->is_array()) {
      for (std::size_t i = 0; i < st->size(); ++i) {
        const json& sj = (*st)[i];
        if (i >= stages.size()) {
          stages.emplace_back();
          json meta = json::object();
          for (const char* k : {"index", "spec", "start_seconds"})
            if (sj.contains(k)) meta[k] = sj[k];
          stage_meta.push_back(meta);
          stage_durations.push_back(0);
          stage_schedule.emplace_back();
          if (sj.contains("target")) stage_meta.back()["target"] = {{"from", 0.0}, {"to", 0.0}};
        }
        stages[i].merge(Stats::from_json(sj, who + ": stages[" + std::to_string(i) + "]"));
        stage_durations[i] = std::max(stage_durations[i], sj.value("duration_seconds", 0.0));
        if (auto ss = sj.find("schedule"); ss != sj.end())
          stage_schedule[i] += ScheduleCounts::from_json(*ss);
        if (auto t = sj.find("tls"); t != sj.end())
          stage_handshakes[i].merge(
              HandshakeStats::from_json(*t, who + ": stages[" + std::to_string(i) + "].tls"));
        if (sj.contains("target") && sj["target"].is_object()) {
          // Each shard offered its share: the whole run offered the sum.
          auto& t = stage_meta[i]["target"];
          t["from"] = t["from"].get<double>() + sj["target"].value("from", 0.0);
          t["to"] = t["to"].get<double>() + sj["target"].value("to", 0.0);
        }
      }
    }
    if (auto t = doc.find("tls"); t != doc.end()) {
      if (!handshakes) handshakes.emplace();
      handshakes->merge(HandshakeStats::from_json(*t, who + ": tls"));
    }
    if (auto by = doc.find("requests_by_name"); by != doc.end() && by->is_object())
      for (const auto& [name, sj] : by->items())
        by_name[name].merge(Stats::from_json(sj, who + ": requests_by_name." + name));
    if (auto c = doc.find("checks"); c != doc.end()) {
      has_checks = true;
      add_checks(checks, *c);
    }
    if (auto ss = doc.find("sessions"); ss != doc.end() && ss->is_object()) {
      has_sessions = true;
      for (const auto& [name, c] : ss->items())
        sessions[name] += SessionCounts::from_json(c);
    }
  }
  json out = total.to_json(duration, true);
  out["version"] = 1;
  out["url"] = docs[0].value("url", "");
  out["model"] = model;
  out["interrupted"] = interrupted;
  out["duration_seconds"] = duration;
  out["merged_from"] = docs.size();
  json sched = schedule.to_json();
  sched["offered_rps"] = duration > 0 ? static_cast<double>(schedule.offered) / duration : 0;
  sched["max_scheduler_lag_seconds"] = max_lag;
  out["schedule"] = std::move(sched);
  add_never_sent(out, schedule.never_sent());
  out["generator"] = {{"cpu_saturated_seconds", saturated}, {"cpu_saturated", saturated > 0}};
  json st = json::array();
  for (std::size_t i = 0; i < stages.size(); ++i) {
    json j = stages[i].to_json(stage_durations[i], true);
    for (const auto& [k, v] : stage_meta[i].items())
      j[k] = v;
    j["duration_seconds"] = stage_durations[i];
    j["schedule"] = stage_schedule[i].to_json();
    add_never_sent(j, stage_schedule[i].never_sent());
    if (auto t = stage_handshakes.find(i); t != stage_handshakes.end())
      j["tls"] = t->second.to_json();
    st.push_back(std::move(j));
  }
  out["stages"] = std::move(st);
  json by = json::object();
  for (const auto& [name, s] : by_name)
    by[name] = s.to_json(duration, true);
  out["requests_by_name"] = std::move(by);
  if (handshakes) out["tls"] = handshakes->to_json();
  if (has_checks) out["checks"] = checks_to_json(checks);
  if (has_sessions) {
    json ss = json::object();
    for (const auto& [name, c] : sessions)
      ss[name] = c.to_json();
    out["sessions"] = std::move(ss);
  }
  return out;
}

}  // namespace faultline::loadgen
