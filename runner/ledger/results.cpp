// results.json assembly (see results.hpp).
#include "runner/ledger/results.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "common/cli.hpp"
#include "common/files.hpp"
#include "common/version.hpp"
#include "runner/ledger/run_record.hpp"
#include "runner/report/report.hpp"

namespace faultline::runner {

namespace {

json opt(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}

json latency_json(const LatencySummary& l) {
  return {{"p50", opt(l.p50)},   {"p90", opt(l.p90)}, {"p99", opt(l.p99)},
          {"p999", opt(l.p999)}, {"max", opt(l.max)}, {"mean", opt(l.mean)}};
}

// The open-model schedule of a phase. late_ratio is of the requests sent, unsent_ratio of the
// arrivals due; each is null when its denominator is 0 (closed models and old interval files
// report no schedule).
json schedule_json(const LoadStats& l) {
  auto ratio = [](std::uint64_t n, std::uint64_t d) {
    return d > 0 ? json(std::min(1.0, static_cast<double>(n) / static_cast<double>(d)))
                 : json(nullptr);
  };
  return {{"offered", l.offered},
          {"sent", l.sent},
          {"late", l.late},
          {"unsent", l.unsent},
          {"late_ratio", ratio(l.late, l.sent)},
          {"unsent_ratio", ratio(l.unsent, l.offered)}};
}

}  // namespace

json phase_to_json(const PhaseStats& p) {
  json j;
  j["name"] = p.name;
  j["start_seconds"] = p.start_seconds;
  j["end_seconds"] = p.end_seconds;
  j["fault"] = p.fault;
  if (p.load.present) {
    const LoadStats& l = p.load;
    json load;
    load["requests"] = {{"total", l.total}, {"ok", l.ok}, {"failed", l.failed}};
    load["schedule"] = schedule_json(l);
    load["errors"] = json::object();
    for (const auto& [k, v] : l.errors)
      load["errors"][k] = v;
    load["error_ratio"] = opt(l.error_ratio);
    load["throughput_rps"] = opt(l.throughput_rps);
    load["latency_seconds"] = latency_json(l.latency);
    load["apdex"] = {{"t_seconds", l.apdex_t_seconds}, {"score", opt(l.apdex)}};
    json by = json::object();
    for (const auto& [n, r] : l.by_name)
      by[n] = {{"total", r.total},
               {"ok", r.ok},
               {"failed", r.failed},
               {"error_ratio", opt(r.error_ratio)},
               {"p99_seconds", opt(r.latency.p99)}};
    load["requests_by_name"] = std::move(by);
    if (!l.sessions.empty()) {
      json ss = json::object();
      for (const auto& [n, s] : l.sessions)
        ss[n] = {{"opened", s.opened},
                 {"completed", s.completed},
                 {"ended_early", s.ended_early},
                 {"reconnects", s.reconnects},
                 {"close_codes", s.close_codes}};
      load["sessions"] = std::move(ss);
    }
    j["load"] = std::move(load);
  } else {
    j["load"] = nullptr;
  }
  json faults = json::object();
  for (const auto& [n, f] : p.faults) {
    json kinds = json::object();
    for (const auto& [k, v] : f.by_kind)
      kinds[k] = v;
    faults[n] = {{"requests", f.requests},
                 {"faults_injected", f.faults_injected},
                 {"fault_ratio", opt(f.fault_ratio)},
                 {"connections", opt(f.connections)},
                 {"faults_per_connection", opt(f.faults_per_connection)},
                 {"by_kind", kinds}};
    if (!f.protocol.empty()) faults[n]["protocol"] = f.protocol;
  }
  j["faults"] = std::move(faults);
  json shards = json::object();
  for (const auto& [n, s] : p.shards)
    shards[n] = {{"requests", s.requests},
                 {"errors", s.errors},
                 {"error_ratio", opt(s.error_ratio)},
                 {"p99_seconds", opt(s.p99_seconds)},
                 {"throughput_rps", opt(s.throughput_rps)}};
  j["shards"] = std::move(shards);
  json comps = json::object();
  for (const auto& [n, c] : p.components)
    comps[n] = {{"rss_bytes", opt(c.rss_bytes)}, {"open_fds", opt(c.open_fds)}};
  j["components"] = std::move(comps);
  return j;
}

std::vector<SeriesPoint> downsample(const std::vector<SeriesPoint>& series,
                                    std::size_t max_points) {
  if (series.size() <= max_points || max_points == 0) return series;
  const std::size_t k = (series.size() + max_points - 1) / max_points;
  std::vector<SeriesPoint> out;
  for (std::size_t i = 0; i < series.size(); i += k) {
    const std::size_t end = std::min(series.size(), i + k);
    SeriesPoint p = series[end - 1];
    auto mean = [&](std::optional<double> SeriesPoint::*m) -> std::optional<double> {
      double sum = 0;
      int n = 0;
      for (std::size_t j = i; j < end; ++j)
        if (series[j].*m) {
          sum += *(series[j].*m);
          ++n;
        }
      return n ? std::optional(sum / n) : std::nullopt;
    };
    p.throughput_rps = mean(&SeriesPoint::throughput_rps);
    p.error_ratio = mean(&SeriesPoint::error_ratio);
    p.p50_seconds = mean(&SeriesPoint::p50_seconds);
    p.unsent = 0;
    for (std::size_t j = i; j < end; ++j)
      p.unsent += series[j].unsent;
    p.p99_seconds.reset();
    for (std::size_t j = i; j < end; ++j)
      if (series[j].p99_seconds)
        p.p99_seconds = std::max(p.p99_seconds.value_or(0), *series[j].p99_seconds);
    out.push_back(std::move(p));
  }
  return out;
}

Verdict verdict_of(const std::vector<AssertionResult>& results) {
  // An inconclusive assertion did not pass (pass is false): the run could not test what was asked.
  for (const auto& r : results)
    if (!r.pass && !r.not_run) return Verdict::fail;
  return Verdict::pass;
}

std::vector<AssertionResult> evaluate_assertions(const Scenario& s, const RunMeasurements& m,
                                                 std::size_t completed_phases) {
  std::set<std::string> done;
  for (std::size_t i = 0; i < completed_phases && i < s.timeline.size(); ++i)
    done.insert(s.timeline[i].phase);
  const bool all = completed_phases >= s.timeline.size();
  std::vector<AssertionResult> out;
  for (const auto& a : s.assertions) {
    std::string missing;
    for (const auto& ph : a->referenced_phases())
      if ((ph == "*" && !all) || (ph != "*" && !done.count(ph))) missing = ph;
    if (missing.empty()) {
      out.push_back(a->evaluate(m));
      continue;
    }
    AssertionResult r;
    r.name = a->common().name;
    r.kind = a->common().kind;
    r.phase = a->common().phase;
    r.not_run = true;
    r.message = missing == "*" ? "not run: the run did not complete"
                               : fmt::format("not run: phase {} did not complete", missing);
    out.push_back(std::move(r));
  }
  return out;
}

int decide_verdict(RunInfo& info, const std::vector<AssertionResult>& results) {
  const Verdict so_far = verdict_of(results);
  if (info.verdict == Verdict::interrupted || info.verdict == Verdict::error)
    info.completed_verdict = so_far;
  else
    info.verdict = so_far;
  return exit_code_of(info.verdict);
}

void write_results(const std::string& dir, const json& doc) {
  std::filesystem::create_directories(dir);
  const std::filesystem::path d(dir);
  write_file_atomically((d / "results.json").string(),
                        doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
  write_file_atomically((d / "junit.xml").string(), render_junit(doc));
  write_file_atomically((d / "report.html").string(), render_html_report(doc));
}

json results_to_json(const Scenario& s, const RunInfo& info, const RunMeasurements& m,
                     const std::vector<TimelineRecord>& timeline,
                     const std::vector<AssertionResult>& assertions) {
  json j;
  j["faultline_version"] = kVersion;
  j["scenario"] = {{"name", s.name}, {"file", s.file}, {"description", s.description}};
  j["started_at"] = info.started_at;
  j["duration_seconds"] = info.duration_seconds;
  j["verdict"] = to_string(info.verdict);
  if (!info.error.empty()) j["error"] = info.error;
  j["interrupted"] = info.verdict == Verdict::interrupted;
  if (info.completed_verdict) j["completed_verdict"] = to_string(*info.completed_verdict);
  if (!info.warnings.empty()) j["warnings"] = info.warnings;
  if (info.record_incomplete) j["record_incomplete"] = true;
  j["partial"] = info.partial;
  j["as_of_seconds"] = info.as_of_seconds;
  j["events"] = info.events;
  j["phases"] = json::array();
  for (const auto& p : m.phases)
    j["phases"].push_back(phase_to_json(p));
  j["series"] = json::array();
  for (const auto& sp : downsample(m.series)) {
    json p = {{"t", sp.t},
              {"phase", sp.phase},
              {"throughput_rps", opt(sp.throughput_rps)},
              {"error_ratio", opt(sp.error_ratio)},
              {"p50_seconds", opt(sp.p50_seconds)},
              {"p99_seconds", opt(sp.p99_seconds)}};
    if (sp.unsent > 0) p["unsent"] = sp.unsent;
    for (const auto& [k, v] : sp.resources)
      p[k] = v;
    j["series"].push_back(std::move(p));
  }
  j["timeline"] = json::array();
  for (const auto& t : timeline)
    j["timeline"].push_back(
        {{"at_seconds", t.at_seconds}, {"phase", t.phase}, {"action", t.action}});
  j["assertions"] = json::array();
  for (const auto& a : assertions)
    j["assertions"].push_back({{"name", a.name},
                               {"kind", a.kind},
                               {"phase", a.phase},
                               {"measured", opt(a.measured)},
                               {"bound", a.bound},
                               {"verdict", a.not_run        ? "not_run"
                                           : a.inconclusive ? "inconclusive"
                                           : a.pass         ? "pass"
                                                            : "fail"},
                               {"message", a.message}});
  for (std::size_t i = 0; i < assertions.size(); ++i)
    if (assertions[i].resolved_max) j["assertions"][i]["bound_max"] = *assertions[i].resolved_max;
  j["endpoints"] = info.endpoints;
  return j;
}

}  // namespace faultline::runner
