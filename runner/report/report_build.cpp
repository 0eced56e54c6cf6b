// `faultline report build` (see report_build.hpp): replays a run's record through the same ledger
// (ledger/ledger.hpp) the live run used, so the phases, assertions, verdict and events are the
// ones the run wrote.
#include "runner/report/report_build.hpp"

#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "common/cli.hpp"
#include "common/line_segments.hpp"
#include "runner/ledger/ledger.hpp"
#include "runner/ledger/results.hpp"
#include "runner/ledger/run_record.hpp"
#include "runner/report/report.hpp"

namespace faultline::runner {

namespace fs = std::filesystem;

namespace {

Scenario scenario_of(const RunHeader& header) {
  Scenario s = parse_scenario(header.scenario_source, header.base_dir, builtin_assertions(),
                              &header.placeholder_values);
  s.file = header.scenario_file;
  if (header.scaled_to) {
    scale_duration(s, *header.scaled_to);
    s.scaled_to = header.scaled_to;
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
  RunLedger ledger(s);
  for (const auto& e : rec.events)
    ledger.apply(e);
  std::size_t malformed = 0;
  std::string read_error;
  const bool read_ok = for_each_line((fs::path(dir) / kIntervalsFile).string(),
                                     [&](const std::string& line) {
                                       auto j = parse_json(line);
                                       if (!j) {
                                         ++malformed;  // a torn last line
                                         return;
                                       }
                                       ledger.add_interval(*j);
                                     },
                                     read_error);
  if (!read_ok)
    std::cerr << "faultline report build: " << read_error << " (read what came before)\n";
  RunInfo info;
  info.started_at = rec.header.started_at;
  info.endpoints = rec.header.endpoints;
  const double last_at = ledger.last_at();
  // A record from a runner that was killed (SIGKILL, OOM, a reboot) has no end, and a record of
  // an older faultline no cut_short event: the phase in progress ends where the record does.
  if (!ledger.cut_short() && ledger.boundaries() <= s.timeline.size())
    ledger.apply(event::CutShort{ledger.boundaries(), last_at});
  if (!ledger.end()) {
    info.verdict = Verdict::interrupted;
    info.error = fmt::format(
        "the run did not finish (its runner stopped at about {:.0f}s); rebuilt from its record",
        last_at);
    info.duration_seconds = last_at;
  }
  const auto r = ledger.results(info, false, last_at);
  try {
    write_results(dir, r.doc);
  } catch (const std::exception& e) {
    std::cerr << "faultline report build: " << e.what() << "\n";
    return kExitUsage;
  }
  if (print_summary) {
    std::cout << render_terminal_summary(r.doc);
    std::cout << "results: " << (fs::path(dir) / "results.json").string()
              << "\nreport:  " << (fs::path(dir) / "report.html").string() << "\n";
  }
  if (rec.skipped_lines + malformed > 0)
    std::cerr << "faultline report build: skipped " << rec.skipped_lines + malformed
              << " unreadable line(s) (a torn last line is normal after a crash)\n";
  if (auto err = r.doc.find("error"); err != r.doc.end() && err->is_string())
    std::cerr << "faultline report build: " << err->get<std::string>() << "\n";
  return r.exit_code;
}

}  // namespace faultline::runner
