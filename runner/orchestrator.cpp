// The scenario orchestrator (see orchestrator.hpp): the sequence of steps (start, timeline,
// drain, write outputs; run_steps.hpp), teardown, and the stop signals.
#include "runner/orchestrator.hpp"

#include <signal.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/cli.hpp"
#include "common/version.hpp"
#include "runner/report/report.hpp"
#include "runner/run_steps.hpp"

namespace faultline::runner {

namespace run_detail {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string utc_now_iso() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

void Orchestrator::check_stop() {
  if (signals_.received()) throw Interrupted{};
}

void Orchestrator::sleep_until(Clock::time_point t) {
  if (signals_.wait_for(t - Clock::now())) throw Interrupted{};
}

std::string Orchestrator::log_file(const std::string& name) const {
  return (fs::path(o_.out_dir) / "logs" / (name + ".log")).string();
}

std::string Orchestrator::system_log_file(const std::string& name) const {
  if (sys_.log_dir.empty()) return log_file(name);
  return (fs::path(sys_.log_dir) / (name + ".log")).string();
}

// The fault state of each phase comes from the scenario's own simulation of the toxics.
std::vector<PhaseWindow> Orchestrator::windows() const {
  std::vector<PhaseWindow> out;
  for (const auto& e : s_.timeline)
    out.push_back(PhaseWindow{e.phase, e.at_seconds, e.fault_active});
  return out;
}

int Orchestrator::run() {
  RunInfo info;
  info.started_at = utc_now_iso();
  info_ = &info;
  const auto wall_start = Clock::now();
  std::vector<std::string> proxy_names;
  for (const auto& p : s_.proxies)
    proxy_names.push_back(p.name);
  collector_ = std::make_unique<Collector>(windows(), s_.duration_seconds, s_.load.apdex_t_seconds,
                                           proxy_names);
  try {
    fs::create_directories(o_.out_dir);
    if (auto why = record_.open(o_.out_dir, record_header(info)); !why.empty())
      throw RunError("cannot write the run record: " + why);
    start(info);
    write_record_header(info);  // now with second 0 and the endpoints
    run_timeline();
    drain();
  } catch (const RunError& e) {
    info.verdict = "error";
    info.error = e.what();
  } catch (const Interrupted&) {
    info.interrupted = true;
    info.error = fmt::format("interrupted (SIGINT/SIGTERM) at {:.1f}s", now_offset());
  } catch (const std::exception& e) {
    // Anything else (a thread that could not be created, an allocation): the run ends with its
    // results, never with an uncaught exception.
    info.verdict = "error";
    info.error = e.what();
  }
  if ((info.verdict == "error" || info.interrupted) && boundaries_done_ <= s_.timeline.size()) {
    // Close the phase that was cut short; phases that never started are left out.
    const double at = now_offset();
    if (boundaries_done_ > 0) scrape_boundary(boundaries_done_, at);
    collector_->truncate(boundaries_done_, at);
  }
  read_intervals();
  try {
    evaluate_promql();  // before teardown: Prometheus and what it scrapes are still up
  } catch (const std::exception& e) {
    spdlog::warn("run: promql evaluation failed: {}", e.what());
  } catch (const Interrupted&) {
    info.interrupted = true;
  }
  keep_after_ = info.verdict != "error" && !info.interrupted;
  teardown();
  read_intervals();
  info.duration_seconds = std::chrono::duration<double>(Clock::now() - wall_start).count();
  const int code = write_outputs(info);
  record_.append({{"type", "end"},
                  {"verdict", info.verdict},
                  {"error", info.error},
                  {"interrupted", info.interrupted},
                  {"duration_seconds", info.duration_seconds}});
  info_ = nullptr;
  return code;
}

double Orchestrator::now_offset() const {
  return clock_.t0 == Clock::time_point{} ? 0 : clock_.offset(Clock::now());
}

std::size_t Orchestrator::completed_phases() const {
  if (boundaries_done_ > s_.timeline.size()) return s_.timeline.size();
  return boundaries_done_ > 0 ? boundaries_done_ - 1 : 0;
}

// What `faultline report build` needs to parse the scenario again exactly as it ran.
json Orchestrator::record_header(const RunInfo& info) const {
  return {{"record_version", 1},
          {"faultline_version", kVersion},
          {"scenario_source", s_.source},
          {"scenario_file", s_.file},
          {"base_dir", s_.base_dir},
          {"placeholder_values", s_.placeholder_values},
          {"scaled_to", s_.scaled_to ? json(*s_.scaled_to) : json(nullptr)},
          {"started_at", info.started_at},
          {"t0_unix", t0_unix_},
          {"endpoints", info.endpoints}};
}

void Orchestrator::write_record_header(const RunInfo& info) {
  try {
    write_file_atomically((fs::path(o_.out_dir) / kRunRecordFile).string(),
                          record_header(info).dump(2) + "\n");
  } catch (const std::exception& e) {
    spdlog::warn("run: {}", e.what());
  }
}

// results.json, junit.xml and report.html as of now, assertions of the completed phases
// evaluated, marked partial. A failure is logged; the run goes on.
void Orchestrator::write_checkpoint() {
  if (!info_) return;
  RunInfo info = *info_;
  info.partial = true;
  info.as_of_seconds = now_offset();
  info.events = events_;
  try {
    RunMeasurements m;
    {
      std::lock_guard lock(collector_mutex_);
      m = collector_->finish();
    }
    const auto results = evaluate_assertions(s_, m, completed_phases());
    info.verdict = verdict_of(results);
    write_results(o_.out_dir, results_to_json(s_, info, m, timeline_log_, results));
    spdlog::info("run: checkpoint at {:.0f}s ({} phases completed)", info.as_of_seconds,
                 completed_phases());
  } catch (const std::exception& e) {
    ++checkpoint_failures_;
    spdlog::warn("run: checkpoint at {:.0f}s failed: {}", info.as_of_seconds, e.what());
  }
}

// The load generator finishes its last second and writes its results; give it its request
// timeout plus a margin.
void Orchestrator::drain() {
  if (!loads_.empty()) {
    const auto deadline = Clock::now() + 15s;
    while (load_running() && Clock::now() < deadline) {
      check_stop();
      read_intervals();
      sleep_until(Clock::now() + 100ms);
    }
    if (load_running()) {
      spdlog::warn("run: the load generator is still running 15s after the end; stopping it");
      for (auto& l : loads_)
        l.terminate(3000ms);
    }
    read_intervals();
    for (std::size_t i = 0; i < loads_.size(); ++i) {
      const int st = loads_[i].wait(0ms);
      const std::string name = loads_.size() > 1 ? fmt::format("load-{}", i) : "load";
      // 0 = done, 1 = one of its own thresholds failed (the scenario's assertions decide here).
      if (st != 0 && st != 1)
        throw RunError(fmt::format("{} exited with status {} (see {})", name, st, log_file(name)));
    }
    if (loads_.size() > 1) {
      std::vector<std::string> parts;
      for (std::size_t i = 0; i < loads_.size(); ++i)
        parts.push_back(shard_results_path(o_.out_dir, i));
      merge_shard_results(parts, load_out_);
    }
  }
}

void Orchestrator::teardown() {
  if (torn_down_) return;
  torn_down_ = true;
  if (scraper_.joinable()) {
    scraper_.request_stop();
    scraper_.join();
  }
  if (prometheus_) prometheus_->stop();
  // Load first (it stops sending), then the things it talks to; SIGTERM, then SIGKILL after a
  // grace period (processes: their own stop signal and grace).
  for (auto& l : loads_)
    l.terminate(3000ms);
  bool keep = keep_after_ && o_.keep_system;
  if (const std::string why = keep ? sys_.not_running() : ""; !why.empty()) {
    spdlog::warn("run: not keeping the system: {}", why);
    keep = false;
  }
  if (keep) {
    // Handed back running for the next run (KeptSystem); the process specs are this run's.
    for (auto& [_, p] : sys_.procs)
      p.spec = nullptr;
    if (!reused_) {
      o_.keep_system->values_ = s_.placeholder_values;
      o_.keep_system->values_.erase("out");
    }
    o_.keep_system->sys_ = std::make_unique<System>(std::move(sys_));
    sys_ = System{};
    return;
  }
  if (o_.keep_system) o_.keep_system->stop();  // nothing half-kept: the next run starts afresh
  sys_.stop();
}

int Orchestrator::write_outputs(RunInfo& info) {
  RunMeasurements m = collector_->finish();
  m.promql = promql_;
  if (collector_->malformed_intervals() > 0)
    spdlog::warn("run: {} malformed interval lines skipped", collector_->malformed_intervals());
  const auto results = evaluate_assertions(s_, m, completed_phases());
  info.as_of_seconds = now_offset();
  info.events = events_;
  int code = decide_verdict(info, results);
  json doc = results_to_json(s_, info, m, timeline_log_, results);
  try {
    write_results(o_.out_dir, doc);
  } catch (const std::exception& e) {
    std::cerr << "faultline run: " << e.what() << "\n";
    if (code == kExitOk) code = kExitUsage;
  }
  if (o_.print_summary) {
    std::cout << render_terminal_summary(doc);
    std::cout << "results: " << (fs::path(o_.out_dir) / "results.json").string()
              << "\nreport:  " << (fs::path(o_.out_dir) / "report.html").string() << "\n";
    std::cout.flush();
  }
  if (!info.error.empty()) std::cerr << "faultline run: " << info.error << "\n";
  return code;
}

}  // namespace run_detail

KeptSystem::KeptSystem(std::string log_root) : log_root_(std::move(log_root)) {}

std::string KeptSystem::log_dir() const {
  return (std::filesystem::path(log_root_) / fmt::format("{:02}", starts_)).string();
}

KeptSystem::~KeptSystem() {
  stop();
}

bool KeptSystem::holds() const noexcept {
  return sys_ && !sys_->empty();
}

void KeptSystem::stop() {
  if (sys_) sys_->stop();
  sys_.reset();
  values_.clear();
}

std::string system_reuse_obstacle(const Scenario& s) {
  for (std::size_t i = 0; i < s.timeline.size(); ++i) {
    const auto& actions = s.timeline[i].actions;
    for (std::size_t j = 0; j < actions.size(); ++j) {
      const Action& a = actions[j];
      if (a.kind != Action::Kind::signal && a.kind != Action::Kind::restart &&
          a.kind != Action::Kind::exec)
        continue;
      return fmt::format(
          "$.timeline[{}].actions[{}]: \"{}\" changes the system beyond the proxies' state, "
          "so every trial starts it afresh",
          i, j, a.describe());
    }
  }
  for (std::size_t i = 0; i < s.proxies.size(); ++i)
    if (s.proxies[i].extra.contains("record"))
      return fmt::format(
          "$.services.proxies[{}].record: proxy {} records each run's traffic to its own file, "
          "so every trial starts the system afresh",
          i, s.proxies[i].name);
  return "";
}

int run_scenario(const Scenario& scenario, const RunOptions& options) {
  // Before the scraper thread starts, so every thread of the run has the stop signals blocked.
  StopSignals signals;
  run_detail::Orchestrator o(scenario, options, signals);
  return o.run();
}

}  // namespace faultline::runner
