// `faultline run`, top to bottom (see orchestrator.hpp): start the system, Prometheus and the
// load; run the timeline on the load's clock; drain the load; judge the promql queries; tear down;
// record the end; turn the ledger into results. Every failure ends up as the verdict "error" (a
// RunError naming the component), every stop signal as "interrupted" (Interrupted): the run still
// writes its results.
#include "runner/orchestrator.hpp"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/cli.hpp"
#include "common/files.hpp"
#include "common/group_keeper.hpp"
#include "common/signals.hpp"
#include "runner/judge/promql_judge.hpp"
#include "runner/ledger/ledger.hpp"
#include "runner/report/report.hpp"
#include "runner/system/load_fleet.hpp"
#include "runner/timeline/actions.hpp"
#include "runner/timeline/clock.hpp"
#include "runner/timeline/sampler.hpp"

namespace faultline::runner {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::string utc_now_iso() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class Run {
 public:
  Run(const Scenario& s, const RunOptions& o, StopSignals& signals)
      : s_(s),
        o_(o),
        signals_(signals),
        load_(s, o.out_dir, o.faultline_exe),
        ledger_(s),
        judge_(s) {}
  ~Run() { teardown(false); }
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  int execute();

 private:
  // The steps of execute(), in order.
  void start();
  void run_timeline();
  void drain();
  void finish_early(RunInfo& info);
  void teardown(bool keep);
  int write_outputs(RunInfo info);

  void start_system();
  void write_prometheus_sd();
  void boundary(std::size_t k, double at);
  void read_intervals();
  void check_components(Clock::time_point now, Clock::time_point end);
  void write_checkpoint();
  RunInfo base_info() const;
  void header_from_scenario();

  bool stop_requested() { return signals_.received(); }
  void check_stop() {
    if (stop_requested()) throw Interrupted{};
  }
  void sleep_until(Clock::time_point t) {
    if (signals_.wait_for(t - Clock::now())) throw Interrupted{};
  }
  StopCheck stop_check() {
    return [this] { return stop_requested(); };
  }

  const Scenario& s_;
  const RunOptions& o_;
  StopSignals& signals_;
  // The system: started here, or taken over from (and handed back to) o_.keep_system.
  std::unique_ptr<System> sys_ = std::make_unique<System>();
  bool reused_ = false;
  LoadFleet load_;
  RunLedger ledger_;
  PromqlJudge judge_;
  std::unique_ptr<TimelineActions> actions_;
  std::unique_ptr<Sampler> sampler_;
  TimelineClock clock_;
  RunHeader header_;
  std::vector<unsigned short> load_metrics_ports_;  // fixed in advance when Prometheus scrapes
  std::size_t boundaries_done_ = 0;
  bool torn_down_ = false;
};

int Run::execute() {
  const auto wall_start = Clock::now();
  header_from_scenario();
  RunInfo info;
  try {
    fs::create_directories(fs::path(o_.out_dir) / "logs");
    if (auto why = ledger_.open_record(o_.out_dir, header_); !why.empty())
      throw RunError("cannot write the run record: " + why);
    start();
    ledger_.rewrite_header(header_);  // now with second 0 and the endpoints
    run_timeline();
    drain();
  } catch (const RunError& e) {
    info.verdict = Verdict::error;
    info.error = e.what();
  } catch (const Interrupted&) {
    info.verdict = Verdict::interrupted;
    info.error = fmt::format("interrupted (SIGINT/SIGTERM) at {:.1f}s", clock_.now());
  } catch (const std::exception& e) {
    // Anything else (a thread that could not be created, an allocation): the run ends with its
    // results, never with an uncaught exception.
    info.verdict = Verdict::error;
    info.error = e.what();
  }
  finish_early(info);
  read_intervals();
  try {
    // Before teardown: Prometheus and what it scrapes are still up.
    for (auto& v : judge_.evaluate(ledger_.measurements(), header_.t0_unix,
                                   [this](double at) { sleep_until(clock_.at(at)); }))
      ledger_.record(std::move(v));
  } catch (const std::exception& e) {
    spdlog::warn("run: promql evaluation failed: {}", e.what());
  } catch (const Interrupted&) {
    info.verdict = Verdict::interrupted;
    if (info.error.empty())
      info.error = fmt::format("interrupted (SIGINT/SIGTERM) at {:.1f}s", clock_.now());
  }
  teardown(info.verdict != Verdict::error && info.verdict != Verdict::interrupted);
  read_intervals();
  event::End end;
  end.verdict = info.verdict;
  end.error = info.error;
  end.duration_seconds = std::chrono::duration<double>(Clock::now() - wall_start).count();
  end.as_of_seconds = clock_.now();
  ledger_.record(end);
  return write_outputs(info);
}

void Run::header_from_scenario() {
  header_.scenario_source = s_.source;
  header_.scenario_file = s_.file;
  header_.base_dir = s_.base_dir;
  header_.placeholder_values = s_.placeholder_values;
  header_.scaled_to = s_.scaled_to;
  header_.started_at = utc_now_iso();
}

// Step 1: the system (or the kept one), Prometheus, the load; second 0.
void Run::start() {
  reused_ = false;
  if (o_.keep_system && o_.keep_system->holds()) {
    sys_ = o_.keep_system->take();
    sys_->adopt(s_);
    // A component that died after the last run's last check, or a proxy that cannot be reset:
    // this run starts a new system rather than failing for what happened before it.
    std::string why = sys_->not_running();
    if (why.empty() && sys_->proxy()) {
      try {
        sys_->proxy()->reset(s_.proxies, stop_check());
      } catch (const RunError& e) {
        why = e.what();
      }
    }
    if (why.empty()) {
      reused_ = true;
      spdlog::info("run: reusing the running system (target {}, proxy API {})",
                   sys_->target_address() ? sys_->target_address()->to_string() : "-",
                   sys_->proxy() ? sys_->proxy()->api_address().to_string() : "-");
    } else {
      spdlog::warn("run: the kept system is not usable ({}); starting a new one", why);
      sys_->stop();
    }
  }
  if (!reused_) start_system();
  actions_ = std::make_unique<TimelineActions>(*sys_, o_.out_dir, stop_check());
  std::vector<std::string> log_dirs{(fs::path(o_.out_dir) / "logs").string()};
  if (sys_->log_dir() != log_dirs.front()) log_dirs.push_back(sys_->log_dir());
  sampler_ = std::make_unique<Sampler>(*sys_, load_, ledger_, log_dirs);

  if (auto t = sys_->target_address()) header_.endpoints["target"] = t->to_string();
  if (sys_->proxy()) header_.endpoints["proxy"] = sys_->proxy()->api_address().to_string();
  for (const auto& [n, hp] : sys_->proxy_listen())
    header_.endpoints["proxy:" + n] = hp.to_string();
  for (const auto& p : s_.processes)
    if (!p.metrics.empty()) header_.endpoints["process:" + p.name] = p.metrics_address.to_string();

  // Prometheus before the load, so the first phase is scraped from its start; it scrapes the load
  // on a port fixed in advance.
  if (judge_.wanted()) {
    if (load_.enabled())
      for (std::int64_t i = 0; i < s_.load.shards; ++i)
        load_metrics_ports_.push_back(free_loopback_port());
    judge_.start(sys_->metrics_endpoints(), load_metrics_ports_,
                 s_.run_pki ? s_.placeholder_values.at("tls.ca") : "", o_.out_dir, stop_check());
    header_.endpoints["prometheus"] = judge_.address().to_string();
  }
  // The timeline's clock starts when the load does (the interval lines count from there too).
  std::optional<Clock::time_point> t0;
  if (load_.enabled())
    t0 = load_.start(load_.default_url(sys_->target_address(), sys_->proxy_listen()),
                     load_metrics_ports_, stop_check());
  clock_.t0 = t0.value_or(Clock::now());
  header_.t0_unix = unix_now() - clock_.offset(Clock::now());
  if (load_.shards() > 0) header_.endpoints["load"] = load_.shard(0).metrics()->address.to_string();
  write_prometheus_sd();
}

void Run::start_system() {
  SystemOptions so{o_.out_dir, (fs::path(o_.out_dir) / "logs").string(), o_.faultline_exe,
                   o_.api_token};
  if (o_.keep_system) so.log_dir = o_.keep_system->next_log_dir();
  sys_ = std::make_unique<System>();
  sys_->start(s_, so, stop_check());
}

// Step 2: the actions at their times; a boundary scrape as each phase starts; the components
// checked, the intervals read and checkpoints written every second.
void Run::run_timeline() {
  sampler_->start(clock_);
  const auto end = clock_.at(s_.duration_seconds);
  auto next_tick = clock_.t0 + 1s;
  const auto every = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(o_.checkpoint_interval_seconds));
  auto next_checkpoint = clock_.t0 + every;
  std::size_t next = 0;
  while (true) {
    check_stop();
    const auto now = Clock::now();
    if (next < s_.timeline.size() && now >= clock_.at(s_.timeline[next].at_seconds)) {
      const auto& e = s_.timeline[next];
      // The phase starts when its actions start, so what they cause (a restart's refused requests,
      // a toxic's first effects) is measured in it. The components are scraped at the boundary
      // BEFORE its actions run: a fault belongs to the phase that injected it (a TCP toxic counts
      // its draws on the open connections the moment it is added), and so do the requests served
      // while the actions run (an exec, a restart). A component the timeline has taken down
      // (STOPped, restarting) cannot answer then; it is scraped after the actions (which may
      // CONTinue it), having counted nothing since it went down.
      const double at = clock_.now();
      ledger_.record(event::Phase{next, at});
      const auto down = actions_->expected_down();
      auto is_down = [&](const std::string& key) {
        return std::find(down.begin(), down.end(), key) != down.end();
      };
      // Except the actions that END the last phase's faults, when the phase starts with them
      // (remove_toxic, enable_proxy): until they take effect the toxic is still drawing, and
      // what it injects belongs to the phase that added it, so they run before the scrape.
      std::size_t first = 0;
      const auto run_action = [&](const Action& a) {
        const double started = clock_.now();
        ledger_.record(event::Timeline{started, e.phase, actions_->execute(a)});
      };
      while (first < e.actions.size() && (e.actions[first].kind == Action::Kind::remove_toxic ||
                                          e.actions[first].kind == Action::Kind::enable_proxy))
        run_action(e.actions[first++]);
      sampler_->boundary(next, at, [&](const std::string& key) { return !is_down(key); });
      for (std::size_t i = first; i < e.actions.size(); ++i)
        run_action(e.actions[i]);
      if (e.actions.empty()) ledger_.record(event::Timeline{at, e.phase, "phase starts"});
      if (!down.empty()) sampler_->boundary(next, at, is_down);
      boundaries_done_ = next + 1;
      // A phase ended: its assertions can be judged now (checkpoint).
      if (next > 0 && o_.checkpoint_interval_seconds > 0) write_checkpoint();
      spdlog::info("run: {:.2f}s phase {}", at, e.phase);
      ++next;
      continue;
    }
    if (next >= s_.timeline.size() && now >= end) break;
    if (now >= next_tick) {
      read_intervals();
      check_components(now, end);
      if (o_.checkpoint_interval_seconds > 0 && now >= next_checkpoint) {
        write_checkpoint();
        next_checkpoint = now + every;
      }
      next_tick += 1s;
    }
    auto wake = std::min(next_tick, end);
    if (next < s_.timeline.size()) wake = std::min(wake, clock_.at(s_.timeline[next].at_seconds));
    sleep_until(wake);
  }
  boundary(s_.timeline.size(), clock_.now());
  ledger_.record(event::Timeline{clock_.now(), "", "end of run"});
}

void Run::boundary(std::size_t k, double at) {
  ledger_.record(event::Phase{k, at});
  sampler_->boundary(k, at, [](const std::string&) { return true; });
  boundaries_done_ = k + 1;
}

// A component that exits without the timeline asking for it ends the run in error; so does a load
// shard that ends more than 2 s early.
void Run::check_components(Clock::time_point now, Clock::time_point end) {
  auto died = [&](Component& c, const std::string& what) {
    ledger_.record(event::Death{clock_.now(), c.id().key(), c.exit_status(), c.log_file()});
    throw RunError(what);
  };
  for (Component* c : sys_->dead(actions_->expected_down()))
    died(*c, fmt::format("{} exited during the run with status {} (see {})", c->id().display(),
                         c->exit_status(), c->log_file()));
  for (std::size_t i = 0; i < load_.shards() && now + 2s < end; ++i) {
    LoadShard& l = load_.shard(i);
    if (l.running()) continue;
    died(l, fmt::format("{} exited {:.1f}s before the end with status {} (see {})",
                        l.id().display(), std::chrono::duration<double>(end - now).count(),
                        l.exit_status(), l.log_file()));
  }
}

void Run::read_intervals() {
  for (const json& j : load_.read_intervals())
    ledger_.add_interval(j);
}

// Step 3: the load generator finishes its last second and writes its results.
void Run::drain() {
  load_.drain(stop_check(), [this] { read_intervals(); });
}

// A run that ended early closes the phase it was in (phases that never started are left out).
void Run::finish_early(RunInfo& info) {
  if (info.verdict != Verdict::error && info.verdict != Verdict::interrupted) return;
  if (boundaries_done_ > s_.timeline.size()) return;
  const double at = clock_.now();
  const std::size_t started = boundaries_done_;  // phases 0 .. started-1 started
  if (started > 0 && sampler_) boundary(started, at);
  ledger_.record(event::CutShort{started, at});
}

void Run::teardown(bool keep) {
  if (torn_down_) return;
  torn_down_ = true;
  if (sampler_) sampler_->stop();
  judge_.stop();
  // Load first (it stops sending), then the things it talks to.
  load_.stop();
  keep = keep && o_.keep_system;
  if (const std::string why = keep ? sys_->not_running() : ""; !why.empty()) {
    spdlog::warn("run: not keeping the system: {}", why);
    keep = false;
  }
  if (keep) {
    // Handed back running for the next run (KeptSystem).
    o_.keep_system->keep(std::move(sys_), reused_ ? nullptr : &s_.placeholder_values);
    sys_ = std::make_unique<System>();
    return;
  }
  if (o_.keep_system) o_.keep_system->stop();  // nothing half-kept: the next run starts afresh
  sys_->stop();
}

RunInfo Run::base_info() const {
  RunInfo info;
  info.started_at = header_.started_at;
  info.endpoints = header_.endpoints;
  return info;
}

// results.json, junit.xml and report.html as of now, assertions of the completed phases
// evaluated, marked partial. A failure is logged; the run goes on.
void Run::write_checkpoint() {
  const double as_of = clock_.now();
  try {
    write_results(o_.out_dir, ledger_.results(base_info(), true, as_of).doc);
    spdlog::info("run: checkpoint at {:.0f}s ({} phases completed)", as_of,
                 ledger_.completed_phases());
  } catch (const std::exception& e) {
    spdlog::warn("run: checkpoint at {:.0f}s failed: {}", as_of, e.what());
  }
}

int Run::write_outputs(RunInfo info) {
  if (const auto n = ledger_.malformed_intervals(); n > 0)
    spdlog::warn("run: {} malformed interval lines skipped", n);
  RunInfo base = base_info();
  if (const auto failed = ledger_.failed_writes(); failed > 0) {
    base.record_incomplete = true;
    base.warnings.push_back(fmt::format(
        "the run record is incomplete ({} write(s) to {} failed): `faultline report build` "
        "cannot rebuild this run exactly",
        failed, kRunEventsFile));
  }
  auto r = ledger_.results(base, false, 0);
  int code = r.exit_code;
  try {
    write_results(o_.out_dir, r.doc);
  } catch (const std::exception& e) {
    std::cerr << "faultline run: " << e.what() << "\n";
    if (code == kExitOk) code = kExitUsage;
  }
  if (o_.print_summary) {
    std::cout << render_terminal_summary(r.doc);  // with the document's warnings
    std::cout << "results: " << (fs::path(o_.out_dir) / "results.json").string()
              << "\nreport:  " << (fs::path(o_.out_dir) / "report.html").string() << "\n";
    std::cout.flush();
  }
  if (!info.error.empty()) std::cerr << "faultline run: " << info.error << "\n";
  return code;
}

void Run::write_prometheus_sd() {
  if (o_.prometheus_sd.empty()) return;
  json list = json::array();
  auto add = [&](const char* job, const std::optional<HostPort>& hp) {
    if (hp)
      list.push_back({{"targets", {hp->to_string()}},
                      {"labels",
                       {{"job", std::string("faultline_") + job},
                        {"component", job},
                        {"scenario", s_.name}}}});
  };
  add("target", sys_->target_address());
  add("proxy",
      sys_->proxy() ? std::optional<HostPort>(sys_->proxy()->api_address()) : std::nullopt);
  if (load_.shards() > 0) add("load", load_.shard(0).metrics()->address);
  try {
    write_file_atomically(o_.prometheus_sd, list.dump(2) + "\n");  // Prometheus never reads half
  } catch (const std::exception& e) {
    throw RunError("cannot write --prometheus-sd file: " + std::string(e.what()));
  }
}

}  // namespace

int run_scenario(const Scenario& scenario, const RunOptions& options) {
  // Whatever the run starts, and what those start, ends with this process however it ends.
  if (const std::string why = group_keeper::start(); !why.empty())
    spdlog::warn(
        "run: cannot start the process-group keeper ({}); a SIGKILLed runner may leave "
        "grandchildren of its processes running",
        why);
  // Before the sampler thread starts, so every thread of the run has the stop signals blocked.
  StopSignals signals;
  Run run(scenario, options, signals);
  return run.execute();
}

}  // namespace faultline::runner
