// `faultline run --validate` beyond the parse (see dry_run.hpp).
#include "runner/judge/dry_run.hpp"

#include <unistd.h>

#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "common/config.hpp"
#include "common/subprocess.hpp"
#include "runner/scenario/promql_phases.hpp"
#include "runner/system/prometheus_server.hpp"

namespace faultline::runner {

namespace {

// "" when `program` (argv[0]) can be executed as the runner would: a path with a slash must be
// an executable file, a bare name must be found in PATH.
std::string program_problem(const std::string& program) {
  if (program.empty()) return "is empty";
  if (program.find('/') == std::string::npos)
    return find_program(program) ? "" : fmt::format("\"{}\" is not found in PATH", program);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(program, ec))
    return fmt::format("\"{}\" does not exist or is not a file", program);
  if (::access(program.c_str(), X_OK) != 0) return fmt::format("\"{}\" is not executable", program);
  return "";
}

}  // namespace

std::vector<std::string> dry_run(const Scenario& s, const std::string& scratch_dir) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.processes.size(); ++i) {
    const auto& cmd = s.processes[i].command;
    const std::string why = program_problem(cmd.empty() ? "" : cmd.front());
    if (!why.empty())
      out.push_back(fmt::format(
          "{}: {}", path_index(path_join(path_index("$.services.processes", i), "command"), 0),
          why));
  }
  for (std::size_t i = 0; i < s.timeline.size(); ++i)
    for (std::size_t j = 0; j < s.timeline[i].actions.size(); ++j) {
      const Action& a = s.timeline[i].actions[j];
      if (a.kind != Action::Kind::exec) continue;
      const std::string why = program_problem(a.command.empty() ? "" : a.command.front());
      if (!why.empty())
        out.push_back(fmt::format(
            "{}: {}",
            path_index(path_join(path_index(path_join(path_index("$.timeline", i), "actions"), j),
                                 "command"),
                       0),
            why));
    }

  std::vector<std::pair<std::size_t, std::string>> queries;
  for (std::size_t k = 0; k < s.assertions.size(); ++k)
    if (auto q = s.assertions[k]->promql_query()) queries.emplace_back(k, *q);
  if (queries.empty()) return out;
  std::unique_ptr<PrometheusServer> prometheus;
  try {
    if (s.prometheus_address) {
      prometheus = PrometheusServer::attach(*s.prometheus_address, s.prometheus_path);
    } else {
      if (!PrometheusServer::find_binary()) {
        out.push_back(
            "$.assertions: promql assertions need Prometheus (Debian's `prometheus` package), "
            "which is not installed: their queries cannot be checked, nor run");
        return out;
      }
      prometheus = std::make_unique<PrometheusServer>(
          scratch_dir, std::vector<ScrapeTarget>{},
          (std::filesystem::path(scratch_dir) / "prometheus.log").string(), [] { return false; });
    }
  } catch (const std::exception& e) {
    out.push_back(
        fmt::format("$.assertions: cannot start a Prometheus to check the queries: {}", e.what()));
    return out;
  }
  for (const auto& [k, q] : queries) {
    const std::string why = prometheus->check(expand_promql_phases_for_check(q));
    if (!why.empty())
      out.push_back(fmt::format("{}: Prometheus rejects the query: {}",
                                path_join(path_index("$.assertions", k), "query"), why));
  }
  prometheus->stop();
  return out;
}

}  // namespace faultline::runner
