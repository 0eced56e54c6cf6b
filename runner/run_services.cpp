// `faultline run`: the user's processes (services.processes), the run's Prometheus and the
// timeline's process actions (signal, restart, exec) — see run_steps.hpp.
#include <signal.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "runner/run_steps.hpp"

namespace faultline::runner::run_detail {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(seconds * 1000)));
}

}  // namespace

void Orchestrator::start_process(const ProcessSpec& p) {
  const fs::path dir = fs::path(o_.out_dir) / p.name;
  std::error_code ec;
  fs::create_directories(dir, ec);
  for (const auto& [rel, text] : p.files) {
    const fs::path f = dir / rel;
    fs::create_directories(f.parent_path(), ec);
    std::ofstream out(f, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw RunError(fmt::format("process {}: cannot write {}", p.name, f.string()));
  }
  ProcessLaunch launch;
  launch.name = p.name;
  launch.command = p.command;
  launch.env = p.env;
  launch.cwd = p.cwd.empty() ? dir.string() : p.cwd;
  launch.log_file = system_log_file(p.name);
  auto mp = std::make_unique<ManagedProcess>(std::move(launch));
  try {
    mp->start();
  } catch (const std::exception& e) {
    throw RunError(fmt::format("process {}: cannot start {}: {}", p.name, p.command[0], e.what()));
  }
  const auto t = Clock::now();
  ManagedProcess& ref = *mp;
  {
    std::lock_guard lock(procs_mutex_);
    System::Proc proc;
    proc.spec = &p;
    proc.stop_signal = p.stop_signal;
    proc.stop_grace_seconds = p.stop_grace_seconds;
    proc.mp = std::move(mp);
    sys_.procs[p.name] = std::move(proc);
    sys_.procs_started.push_back(p.name);
  }
  const std::string why = ref.wait_ready(p.ready, [this] { return signals_.received(); });
  if (why == "interrupted") throw Interrupted{};
  if (!why.empty()) throw RunError(fmt::format("process {}: {}", p.name, why));
  spdlog::info("run: process {} (pid {}) ready after {:.2f}s", p.name, ref.pid(),
               std::chrono::duration<double>(Clock::now() - t).count());
}

void Orchestrator::start_prometheus() {
  if (s_.prometheus_address) {
    // The user's Prometheus: it scrapes what it scrapes; the run only queries it.
    prometheus_ = PrometheusServer::attach(*s_.prometheus_address, s_.prometheus_path);
    spdlog::info("run: querying the Prometheus on {}", s_.prometheus_address->to_string());
    check_promql_queries();
    return;
  }
  if (!PrometheusServer::find_binary())
    throw RunError(
        "prometheus is not installed (promql assertions and services.prometheus need Debian's "
        "`prometheus` package)");
  std::vector<ScrapeTarget> targets;
  if (sys_.target_addr) {
    targets.push_back({"target", sys_.target_addr->to_string(), "/metrics", {}, ""});
    if (sys_.target_tls) targets.back().ca_file = s_.placeholder_values.at("tls.ca");
  }
  if (sys_.proxy_api)
    targets.push_back({"proxy", sys_.proxy_api->to_string(), "/metrics", {}, o_.api_token});
  for (std::size_t i = 0; i < load_metrics_ports_.size(); ++i) {
    targets.push_back(
        {"load", fmt::format("127.0.0.1:{}", load_metrics_ports_[i]), "/metrics", {}, ""});
    // Shards are told apart by a label (sum over it for the whole load).
    if (load_metrics_ports_.size() > 1) targets.back().labels["shard"] = std::to_string(i);
  }
  for (const auto& p : s_.processes)
    if (!p.metrics.empty())
      targets.push_back({p.name, p.metrics_address.to_string(), p.metrics_path, {}, ""});
  for (auto& t : targets)
    t.labels["scenario"] = s_.name;
  try {
    prometheus_ = std::make_unique<PrometheusServer>((fs::path(o_.out_dir) / "prometheus").string(),
                                                     targets, log_file("prometheus"),
                                                     [this] { return signals_.received(); });
  } catch (const std::exception& e) {
    check_stop();
    throw RunError(fmt::format("prometheus: {}", e.what()));
  }
  spdlog::info("run: prometheus on {}", prometheus_->address().to_string());
  // Prometheus applies its targets ~5 s after it is ready: wait for a first scrape of every one,
  // so the first phase has data from its start.
  const double now_unix =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto until = Clock::now() + 20s;
  while (!prometheus_->wait_scraped_after(now_unix, 500ms)) {
    check_stop();
    if (Clock::now() > until) {
      spdlog::warn("run: prometheus did not scrape every target within 20s; starting anyway");
      break;
    }
  }
  check_promql_queries();
}

// A query Prometheus rejects (or a Prometheus that does not answer) is found now, not after the
// run.
void Orchestrator::check_promql_queries() {
  for (const auto& a : s_.assertions)
    if (auto q = a->promql_query()) {
      const std::string why = prometheus_->check(expand_phase_window(*q, 1));
      if (!why.empty())
        throw RunError(fmt::format("assertion \"{}\": Prometheus rejects the query {}: {}",
                                   a->common().name, *q, why));
    }
}

// Each promql assertion's query at the end of its phase (the first occurrence; "*" is the whole
// run), "[phase]" being the phase's length. Runs before teardown: the last scrape must have
// happened after the phase ended.
void Orchestrator::evaluate_promql() {
  if (!prometheus_) return;
  RunMeasurements m;
  {
    std::lock_guard lock(collector_mutex_);
    m = collector_->finish();
  }
  struct Job {
    std::string name, query;
    double start = 0, end = 0;
  };
  std::vector<Job> jobs;
  double last_end = 0;
  for (const auto& a : s_.assertions) {
    auto q = a->promql_query();
    if (!q) continue;
    const std::string& phase = a->common().phase;
    std::optional<Job> j;
    if (phase == "*") {
      if (!m.phases.empty()) j = Job{a->common().name, *q, 0, m.phases.back().end_seconds};
    } else {
      for (const auto& p : m.phases)
        if (p.name == phase) {
          j = Job{a->common().name, *q, p.start_seconds, p.end_seconds};
          break;
        }
    }
    if (!j) {
      promql_[a->common().name] = PromqlValue{std::nullopt, "the phase did not run", *q, 0};
      continue;
    }
    last_end = std::max(last_end, j->end);
    jobs.push_back(std::move(*j));
  }
  if (jobs.empty()) return;
  if (prometheus_->attached()) {
    // The user's Prometheus scrapes at its own interval: give it that long after the last phase.
    sleep_until(clock_.at(last_end + s_.prometheus_scrape_wait_seconds));
  } else if (!prometheus_->wait_scraped_after(t0_unix_ + last_end + 0.5, 5000ms)) {
    // Every target scraped once more after the last phase ended (scrape interval 1 s).
    spdlog::warn(
        "run: prometheus did not scrape every target after the run ended; the last "
        "second may be missing from promql assertions");
  }
  for (const auto& j : jobs) {
    const std::string q = expand_phase_window(j.query, j.end - j.start);
    PromqlResult r = prometheus_->query(q, t0_unix_ + j.end);
    promql_[j.name] = PromqlValue{r.value, r.error, q, j.end};
    record_.append({{"type", "promql"},
                    {"name", j.name},
                    {"value", r.value ? json(*r.value) : json(nullptr)},
                    {"error", r.error},
                    {"query", q},
                    {"at", j.end}});
  }
}

void Orchestrator::signal_component(const Action& a) {
  const int sig = a.signal;
  if (a.process == "target") {
    sys_.target->signal(sig);
  } else if (a.process.rfind("redis:", 0) == 0) {
    sys_.redis[std::stoul(a.process.substr(6))].signal(sig);
  } else {
    std::lock_guard lock(procs_mutex_);
    sys_.procs.at(a.process).mp->signal(sig);
  }
  if (sig == SIGCONT)
    expected_down_.erase(a.process);
  else if (signal_takes_down(sig))
    expected_down_.insert(a.process);
}

double Orchestrator::restart_component(const std::string& name) {
  const auto t = Clock::now();
  expected_down_.insert(name);  // while it is down
  if (name == "target") {
    sys_.target->signal(SIGCONT);
    sys_.target->terminate(3000ms);
    const std::string log = system_log_file("target");
    sys_.target.emplace(target_argv(), log);
    sys_.target_addr = wait_listening(*sys_.target, "target", log);
  } else if (name.rfind("redis:", 0) == 0) {
    const std::size_t i = std::stoul(name.substr(6));
    sys_.redis[i].signal(SIGCONT);
    sys_.redis[i].terminate(3000ms);
    sys_.redis[i] = Subprocess(redis_argv(i), system_log_file(fmt::format("redis-{}", i)));
    wait_redis(i);
  } else {
    ManagedProcess* mp = nullptr;
    const ProcessSpec* spec = nullptr;
    {
      std::lock_guard lock(procs_mutex_);
      mp = sys_.procs.at(name).mp.get();
      spec = sys_.procs.at(name).spec;
      mp->stop(spec->stop_signal, ms(spec->stop_grace_seconds));
      try {
        mp->start();
      } catch (const std::exception& e) {
        throw RunError(fmt::format("restart {}: cannot start it: {}", name, e.what()));
      }
    }
    const std::string why = mp->wait_ready(spec->ready, [this] { return signals_.received(); });
    if (why == "interrupted") throw Interrupted{};
    if (!why.empty()) throw RunError(fmt::format("restart {}: {}", name, why));
  }
  expected_down_.erase(name);
  const double took = std::chrono::duration<double>(Clock::now() - t).count();
  spdlog::info("run: restarted {} in {:.2f}s", name, took);
  return took;
}

// Runs the command to completion (or its timeout); its output goes to logs/exec-N.log and the
// first line of it into the timeline record.
std::string Orchestrator::exec_command(const Action& a, std::size_t n) {
  const std::string log = log_file(fmt::format("exec-{}", n));
  ProcessLaunch launch;
  launch.name = fmt::format("exec-{}", n);
  launch.command = a.command;
  launch.cwd = o_.out_dir;
  launch.log_file = log;
  ManagedProcess p(std::move(launch));
  try {
    p.start();
  } catch (const std::exception& e) {
    throw RunError(fmt::format("\"{}\": cannot start: {}", a.describe(), e.what()));
  }
  const auto deadline = Clock::now() + ms(a.timeout_seconds);
  while (p.running() && Clock::now() < deadline) {
    if (signals_.received()) {
      p.stop(SIGKILL, 0ms);
      throw Interrupted{};
    }
    std::this_thread::sleep_for(20ms);
  }
  std::string output;
  {
    std::ifstream in(log);
    std::getline(in, output);
    if (output.size() > 200) output = output.substr(0, 200) + "...";
  }
  if (p.running()) {
    p.stop(SIGKILL, 0ms);
    const std::string what =
        fmt::format("timed out after {:.1f}s (see {})", a.timeout_seconds, log);
    if (!a.allow_failure) throw RunError(fmt::format("\"{}\" {}", a.describe(), what));
    return what;
  }
  const int status = p.exit_status().value_or(-1);
  std::string what = fmt::format("exit status {}", status);
  if (!output.empty()) what += fmt::format(", output \"{}\"", output);
  if (status != 0 && !a.allow_failure)
    throw RunError(fmt::format("\"{}\" failed: {} (see {}; \"allow_failure\": true accepts it)",
                               a.describe(), what, log));
  return what;
}

std::string System::not_running() {
  for (std::size_t i = 0; i < redis.size(); ++i)
    if (!redis[i].running()) return fmt::format("redis shard {} exited", i);
  if (proxy && !proxy->running()) return "the proxy exited";
  if (target && !target->running()) return "the target exited";
  for (auto& [name, p] : procs)
    if (!p.mp->running()) return fmt::format("process {} exited", name);
  return "";
}

void System::stop() {
  // The processes in reverse start order, each with its own stop signal and grace period.
  for (auto it = procs_started.rbegin(); it != procs_started.rend(); ++it) {
    auto& proc = procs.at(*it);
    if (proc.mp->running()) {
      const int st = proc.mp->stop(proc.stop_signal, ms(proc.stop_grace_seconds));
      spdlog::info("run: process {} stopped (status {})", *it, st);
    }
  }
  procs.clear();
  procs_started.clear();
  if (target) {
    target->signal(SIGCONT);
    target->terminate(3000ms);
  }
  // An attached proxy API outlives the run: remove what this run created there.
  for (const auto& name : attached_created) {
    Fetched f = fetch(*proxy_api, "DELETE", "/proxies/" + name, "", 5000ms, api_token);
    if (!f.ok && f.status != 404)
      spdlog::warn("run: could not remove proxy {} from {}: {}", name, attached_api, f.error);
  }
  if (proxy) proxy->terminate(3000ms);
  for (auto& r : redis) {
    r.signal(SIGCONT);  // a SIGSTOPped server cannot act on SIGTERM
    r.terminate(3000ms);
  }
  std::string dir = std::move(log_dir);
  *this = System{};
  log_dir = std::move(dir);
}

}  // namespace faultline::runner::run_detail
