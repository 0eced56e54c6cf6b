// `faultline run SCENARIO.json [--validate] [--out DIR [--overwrite]] [--set key.path=value ...]
// [--var NAME=VALUE ...] [--duration D]
// [--prometheus-sd FILE]`: parses and validates the scenario (exit 2 with every error and its JSON
// path), runs it, prints the verdict table, exits 0 pass / 1 an assertion failed / 2 bad input or
// a component failed / 130 interrupted.
#include "runner/cli.hpp"
#include "common/files.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "runner/envelope/envelope_cli.hpp"
#include "runner/judge/dry_run.hpp"
#include "runner/orchestrator.hpp"
#include "runner/report/report_build.hpp"
#include "runner/scenario/scenario.hpp"

namespace faultline::runner {

namespace {

struct RunArgs {
  std::string scenario;
  std::string out;
  std::vector<std::string> sets;
  std::vector<std::string> vars;  // --var NAME=VALUE: --set vars["NAME"]=VALUE
  std::string duration;
  std::string prometheus_sd;
  std::string api_token;
  std::string checkpoint_interval = "5m";
  bool overwrite = false;
  bool validate = false;
};

// --validate: the scenario resolved as for a run (nothing written to --out), then dry_run().
int validate_command(const RunArgs& a, const Scenario& parsed, const std::string& out_dir) {
  std::unique_ptr<Scenario> s;
  try {
    RunContext ctx{std::filesystem::absolute(out_dir).lexically_normal().string(), self_exe()};
    s = std::make_unique<Scenario>(resolve_for_run(parsed, ctx));
  } catch (const ConfigError& e) {
    std::cerr << "faultline run: invalid scenario " << a.scenario << " (with its placeholders "
              << "substituted):\n"
              << e.what() << "\n";
    return kExitUsage;
  }
  char scratch_template[] = "/tmp/faultline-validate-XXXXXX";
  const char* scratch = ::mkdtemp(scratch_template);
  if (!scratch) {
    std::cerr << "faultline run --validate: cannot create a scratch directory under /tmp\n";
    return kExitUsage;
  }
  const auto problems = dry_run(*s, scratch);
  std::error_code ec;
  std::filesystem::remove_all(scratch, ec);
  if (!problems.empty()) {
    std::cerr << "faultline run: " << a.scenario << " cannot run:\n";
    for (const auto& p : problems)
      std::cerr << "  " << p << "\n";
    return kExitUsage;
  }
  std::size_t promql = 0;
  for (const auto& x : s->assertions)
    promql += x->promql_query() ? 1 : 0;
  std::cout << fmt::format(
      "{}: valid — {} phases over {}, {} processes, {} proxies, {} assertions ({} PromQL "
      "queries accepted by Prometheus); nothing of it was started\n",
      a.scenario, s->phase_names().size(),
      format_duration(
          std::chrono::nanoseconds(static_cast<std::int64_t>(s->duration_seconds * 1e9))),
      s->processes.size(), s->proxies.size(), s->assertions.size(), promql);
  return 0;
}

int run_command(const RunArgs& a) {
  std::optional<double> duration;
  if (!a.duration.empty()) {
    auto d = parse_duration(a.duration);
    if (!d || d->count() < 1'000'000'000) {
      std::cerr << "faultline run: --duration: expected a duration of at least 1s like \"90s\" or "
                   "\"10m\", got \""
                << a.duration << "\"\n";
      return kExitUsage;
    }
    duration = static_cast<double>(d->count()) / 1e9;
  }
  std::vector<std::string> sets = a.sets;
  for (const auto& v : a.vars) {
    const auto eq = v.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "faultline run: --var: expected NAME=VALUE, got \"" << v << "\"\n";
      return kExitUsage;
    }
    sets.push_back("vars[\"" + v.substr(0, eq) + "\"]" + v.substr(eq));
  }
  std::unique_ptr<Scenario> s;
  try {
    s = std::make_unique<Scenario>(load_scenario(a.scenario, sets, duration));
  } catch (const ConfigError& e) {
    std::cerr << "faultline run: invalid scenario " << a.scenario << ":\n" << e.what() << "\n";
    return kExitUsage;
  }
  RunOptions o;
  o.out_dir = a.out.empty() ? "out/" + s->name : a.out;
  if (a.validate) return validate_command(a, *s, o.out_dir);
  // One run per directory: an earlier run's logs, data directories and records never mix with
  // this one's (docs/run.md#running-a-scenario).
  if (const std::string why =
          claim_output_dir(o.out_dir, a.overwrite, {"run-events.jsonl", "results.json"});
      !why.empty()) {
    std::cerr << "faultline run: --out: " << why << "\n";
    return kExitUsage;
  }
  o.prometheus_sd = a.prometheus_sd;
  o.faultline_exe = self_exe();
  o.api_token = a.api_token;
  if (auto d = parse_duration(a.checkpoint_interval)) {
    o.checkpoint_interval_seconds = static_cast<double>(d->count()) / 1e9;
  } else {
    std::cerr
        << "faultline run: --checkpoint-interval: expected a duration like \"5m\" or 0, got \""
        << a.checkpoint_interval << "\"\n";
    return kExitUsage;
  }
  if (o.api_token.empty())
    if (const char* t = std::getenv("FAULTLINE_API_TOKEN")) o.api_token = t;
  // Placeholders get their values (ports picked now, paths absolute), and the scenario is checked
  // again with them.
  try {
    RunContext ctx{std::filesystem::absolute(o.out_dir).lexically_normal().string(),
                   o.faultline_exe};
    s = std::make_unique<Scenario>(resolve_for_run(*s, ctx));
  } catch (const ConfigError& e) {
    std::cerr << "faultline run: invalid scenario " << a.scenario << " (with its placeholders "
              << "substituted):\n"
              << e.what() << "\n";
    return kExitUsage;
  }
  return run_scenario(*s, o);
}

}  // namespace

void register_commands(CommandRegistry& registry) {
  envelope::register_envelope_command(registry);
  // `faultline report build DIR` joins `faultline report` (registered by the load generator).
  if (CLI::App* report = registry.find("report")) {
    auto dir = std::make_shared<std::string>();
    registry
        .add(report, "build",
             "Rebuild results.json, junit.xml and report.html of a `faultline run` output "
             "directory from its run record (after a crash, or with a newer faultline)",
             [dir] { return build_report(*dir); })
        ->add_option("dir", *dir, "The run's output directory (--out)")
        ->required();
  }
  auto args = std::make_shared<RunArgs>();
  CLI::App* app = registry.add("run", "Run a chaos scenario and judge how the service degrades",
                               [args] { return run_command(*args); });
  app->add_option("scenario", args->scenario, "Scenario file (JSON)")->required();
  app->add_option("--out", args->out,
                  "Directory for results.json, junit.xml, report.html and logs/ "
                  "(default out/<scenario name>)");
  app->add_flag("--validate", args->validate,
                "Check the scenario and exit (0 valid, 2 not): parse it, resolve its "
                "placeholders, check that every program it starts exists and that Prometheus "
                "accepts every PromQL query; nothing is started and --out is not touched");
  app->add_flag("--overwrite", args->overwrite,
                "Empty the --out directory first when it holds an earlier run (without it, a "
                "non-empty --out is refused)");
  app->add_option("--set", args->sets,
                  "Override a scenario value: key.path=value (repeatable), e.g. "
                  "target.mode=naive");
  app->add_option("--var", args->vars,
                  "Set a scenario variable, used as ${var.NAME} (repeatable): NAME=VALUE, the "
                  "value always a string; the same as --set vars.NAME=VALUE");
  app->add_option("--duration", args->duration,
                  "Rescale the timeline to this total duration (e.g. 10m for a short soak)");
  app->add_option("--api-token", args->api_token,
                  "Bearer token for services.proxy_api (default: $FAULTLINE_API_TOKEN); also "
                  "set on the proxy the run starts");
  app->add_option("--checkpoint-interval", args->checkpoint_interval,
                  "Rewrite results.json, junit.xml and report.html (\"partial\": true) this often "
                  "and at every phase end; 0 = only at the end")
      ->capture_default_str();
  app->add_option("--prometheus-sd", args->prometheus_sd,
                  "Write a Prometheus file_sd list of the components' metrics endpoints here");
}

}  // namespace faultline::runner
