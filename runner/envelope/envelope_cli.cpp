// `faultline envelope SCENARIO.json --load FROM..TO --fault 'PROXY/TOXIC.ATTRIBUTE=FROM..TO'
// [--slo NAME...] [--budget 30m] [--out DIR] [--trial-duration D] [--resolution X] [--repeats N]
// [--max-levels N] [--set key=value ...]`: checks everything (exit 2 with the flag or JSON path of
// each error), runs the search (envelope_search.cpp) over trials (envelope_trial.cpp), writes
// envelope.json and report.html and prints the summary. Exit 0 done (whatever the envelope is),
// 2 bad arguments or scenario, 130 interrupted (what was reached is still written).
#include <filesystem>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "common/cli.hpp"
#include "common/files.hpp"
#include "common/signals.hpp"
#include "runner/envelope/envelope.hpp"
#include "runner/envelope/envelope_cli.hpp"
#include "runner/envelope/envelope_output.hpp"
#include "runner/envelope/envelope_trial.hpp"
#include "runner/report/format.hpp"

namespace faultline::runner::envelope {

namespace fs = std::filesystem;

namespace {

std::string command_line(const EnvelopeArgs& a) {
  std::string c =
      fmt::format("faultline envelope {} --load {} --fault '{}'", a.scenario, a.load, a.fault);
  for (const auto& s : a.slo)
    c += fmt::format(" --slo '{}'", s);
  c += " --budget " + a.budget;
  c += fmt::format(" --repeats {} --max-levels {}", a.repeats, a.max_levels);
  if (!a.out.empty()) c += " --out " + a.out;
  if (!a.trial_duration.empty()) c += " --trial-duration " + a.trial_duration;
  if (!a.resolution.empty()) c += " --resolution " + a.resolution;
  if (a.fresh_system) c += " --fresh-system";
  for (const auto& s : a.sets)
    c += fmt::format(" --set '{}'", s);
  return c;
}

}  // namespace

int run_envelope(const EnvelopeArgs& args) {
  Plan plan;
  try {
    plan = make_plan(args);
  } catch (const ConfigError& e) {
    std::cerr << "faultline envelope: invalid arguments or scenario " << args.scenario << ":\n"
              << e.what() << "\n";
    return kExitUsage;
  }
  // Blocks SIGINT/SIGTERM for this thread and every one a trial starts; a signal during a trial
  // ends that trial (exit 130 from it), one between trials is seen here.
  StopSignals signals;
  std::error_code ec;
  fs::create_directories(plan.out_dir, ec);
  if (ec) {
    std::cerr << "faultline envelope: cannot create " << plan.out_dir << ": " << ec.message()
              << "\n";
    return kExitUsage;
  }
  TrialRunner runner(plan, self_exe());
  SearchOptions o;
  o.load = plan.load;
  o.integer_load = plan.integer_load;
  o.fault = plan.fault.range;
  o.integer_fault = plan.fault.integer;
  o.resolution = plan.resolution;
  o.repeats = plan.repeats;
  o.max_levels = plan.max_levels;
  o.budget_seconds = plan.budget_seconds;
  o.first_trial_estimate_seconds = plan.trial_seconds.value_or(0);
  const SearchResult r = search(o, [&](const Point& p) -> std::optional<Trial> {
    if (signals.received()) return std::nullopt;
    return runner(p);
  });
  runner.stop_system();
  json doc = envelope_to_json(r, plan, command_line(args));
  doc["system"] = runner.system_json();
  const std::string json_path = (fs::path(plan.out_dir) / "envelope.json").string();
  const std::string html_path = (fs::path(plan.out_dir) / "report.html").string();
  try {
    write_file_atomically(json_path, doc.dump(2) + "\n");
    write_file_atomically(html_path, render_envelope_html(doc));
  } catch (const std::exception& e) {
    std::cerr << "faultline envelope: " << e.what() << "\n";
    return kExitUsage;
  }
  std::cout << render_envelope_summary(doc) << "envelope: " << json_path
            << "\nreport:   " << html_path << "\n";
  std::cout.flush();
  return r.interrupted ? 130 : kExitOk;
}

void register_envelope_command(CommandRegistry& registry) {
  auto a = std::make_shared<EnvelopeArgs>();
  CLI::App* app = registry.add(
      "envelope", "Map the load x fault-intensity region in which a scenario's SLO assertions hold",
      [a] { return run_envelope(*a); });
  app->add_option("scenario", a->scenario, "Scenario file (JSON)")->required();
  app->add_option("--load", a->load, "Load range in requests/s, FROM..TO (e.g. 50..800)")
      ->required();
  app->add_option("--fault", a->fault,
                  "The fault axis, PROXY/TOXIC.ATTRIBUTE=FROM..TO in the attribute's own unit "
                  "(e.g. 'redis0/slow.latency=0..200'; ATTRIBUTE toxicity = the toxic's "
                  "probability)")
      ->required();
  app->add_option("--slo", a->slo, "Assertion names that form the SLO (default: all of them)");
  app->add_option("--budget", a->budget, "Total time for all trials")->capture_default_str();
  app->add_option("--out", a->out,
                  "Directory for envelope.json, report.html and trials/ (default "
                  "out/envelope-<scenario name>)");
  app->add_option("--trial-duration", a->trial_duration,
                  "Rescale each trial's timeline to this length, as `faultline run --duration` "
                  "(default: the scenario's own duration)");
  app->add_option("--resolution", a->resolution,
                  "Stop bisecting when the bracket is this narrow, in the attribute's unit "
                  "(default: a fiftieth of the fault range)");
  app->add_option("--repeats", a->repeats,
                  "Extra trials at each side of the converged boundary, for its band")
      ->capture_default_str();
  app->add_option("--max-levels", a->max_levels, "Load levels to search at most")
      ->capture_default_str();
  app->add_option("--set", a->sets,
                  "Override a scenario value for every trial, as `faultline run --set`");
  app->add_flag("--fresh-system", a->fresh_system,
                "Start the scenario's system afresh for every trial instead of keeping it "
                "running between trials");
}

}  // namespace faultline::runner::envelope
