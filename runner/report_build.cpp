// `faultline report build` (see report_build.hpp): replays a run's record into a Collector and
// evaluates the assertions exactly as the runner does at the end of a run.
#include "runner/report_build.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "common/cli.hpp"
#include "common/line_segments.hpp"
#include "runner/collector.hpp"
#include "runner/report/report.hpp"
#include "runner/results.hpp"
#include "runner/run_record.hpp"

namespace faultline::runner {

namespace fs = std::filesystem;

namespace {

Scenario scenario_of(const json& header) {
  const auto values = header.value("placeholder_values", std::map<std::string, std::string>{});
  Scenario s = parse_scenario(header.at("scenario_source"), header.value("base_dir", "."),
                              builtin_assertions(), &values);
  s.file = header.value("scenario_file", "");
  if (auto it = header.find("scaled_to"); it != header.end() && it->is_number()) {
    scale_duration(s, it->get<double>());
    s.scaled_to = it->get<double>();
  }
  return s;
}

}  // namespace

int build_report(const std::string& dir, bool print_summary) {
  RecordedRun rec;
  Scenario s;
  try {
    rec = read_run_record(dir);
    s = scenario_of(rec.header);
  } catch (const std::exception& e) {
    std::cerr << "faultline report build: " << e.what() << "\n";
    return kExitUsage;
  }
  std::vector<PhaseWindow> windows;
  for (const auto& e : s.timeline)
    windows.push_back(PhaseWindow{e.phase, e.at_seconds, e.fault_active});
  std::vector<std::string> proxies;
  for (const auto& p : s.proxies)
    proxies.push_back(p.name);
  Collector collector(windows, s.duration_seconds, s.load.apdex_t_seconds, proxies);

  RunInfo info;
  info.started_at = rec.header.value("started_at", "");
  info.endpoints = rec.header.value("endpoints", json::object());
  std::vector<TimelineRecord> timeline;
  std::map<std::string, PromqlValue> promql;
  std::size_t boundaries = 0;
  double last_at = 0;
  const json* end = nullptr;
  for (const auto& e : rec.events) {
    const std::string type = e.value("type", "");
    try {
      if (type == "boundary") {
        const auto k = e.at("k").get<std::size_t>();
        const double at = e.at("at").get<double>();
        collector.set_boundary(k, at, e.at("component").get<std::string>(),
                               PromSnapshot::parse(e.at("metrics").get<std::string>()));
        boundaries = std::max(boundaries, k + 1);
        last_at = std::max(last_at, at);
      } else if (type == "resources") {
        collector.add_resources(e.at("t").get<double>(),
                                e.at("values").get<std::map<std::string, double>>());
        last_at = std::max(last_at, e.at("t").get<double>());
      } else if (type == "timeline") {
        timeline.push_back({e.at("at").get<double>(), e.value("phase", ""), e.value("action", "")});
      } else if (type == "promql") {
        PromqlValue v;
        if (e.contains("value") && e["value"].is_number()) v.value = e["value"].get<double>();
        v.error = e.value("error", "");
        v.query = e.value("query", "");
        v.at_seconds = e.value("at", 0.0);
        promql[e.value("name", "")] = v;
      } else if (type == "death") {
        json d = e;
        d.erase("type");
        info.events.push_back(std::move(d));
      } else if (type == "end") {
        end = &e;
      }
    } catch (const std::exception& ex) {
      ++rec.skipped_lines;
    }
  }
  std::size_t malformed = 0;
  std::string read_error;
  const bool read_ok = for_each_line((fs::path(dir) / kIntervalsFile).string(),
                                     [&](const std::string& line) {
                                       json j = json::parse(line, nullptr, false);
                                       if (j.is_discarded()) {
                                         ++malformed;  // a torn last line
                                         return;
                                       }
                                       if (j.contains("t") && j["t"].is_number())
                                         last_at = std::max(last_at, j["t"].get<double>());
                                       collector.add_interval(j);
                                     },
                                     read_error);
  if (!read_ok)
    std::cerr << "faultline report build: " << read_error << " (read what came before)\n";
  const std::size_t total = s.timeline.size();
  if (boundaries <= total) collector.truncate(boundaries, last_at);
  const std::size_t completed = boundaries > total ? total : (boundaries > 0 ? boundaries - 1 : 0);

  RunMeasurements m = collector.finish();
  m.promql = promql;
  const auto results = evaluate_assertions(s, m, completed);
  if (end) {
    info.verdict = (*end).value("verdict", "");
    if (info.verdict != "error") info.verdict.clear();
    info.error = (*end).value("error", "");
    info.interrupted = (*end).value("interrupted", false);
    info.duration_seconds = (*end).value("duration_seconds", 0.0);
  } else {
    // The runner never wrote its end: it was killed (SIGKILL, OOM, a reboot).
    info.interrupted = true;
    info.error = fmt::format(
        "the run did not finish (its runner stopped at about {:.0f}s); rebuilt from its record",
        last_at);
    info.duration_seconds = last_at;
  }
  info.as_of_seconds = last_at;
  info.partial = completed < total;
  const int code = decide_verdict(info, results);
  const json doc = results_to_json(s, info, m, timeline, results);
  try {
    write_results(dir, doc);
  } catch (const std::exception& e) {
    std::cerr << "faultline report build: " << e.what() << "\n";
    return kExitUsage;
  }
  if (print_summary) {
    std::cout << render_terminal_summary(doc);
    std::cout << "results: " << (fs::path(dir) / "results.json").string()
              << "\nreport:  " << (fs::path(dir) / "report.html").string() << "\n";
  }
  if (rec.skipped_lines + malformed > 0)
    std::cerr << "faultline report build: skipped " << rec.skipped_lines + malformed
              << " unreadable line(s) (a torn last line is normal after a crash)\n";
  if (!info.error.empty()) std::cerr << "faultline report build: " << info.error << "\n";
  return code;
}

}  // namespace faultline::runner
