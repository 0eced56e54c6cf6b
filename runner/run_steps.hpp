// Internal to the orchestrator (orchestrator.hpp): `Orchestrator::run` is four steps, each in its
// own file — start (run_start.cpp: children up and ready), timeline (run_timeline.cpp: actions on
// the clock, boundary and per-second scrapes), drain and write-outputs (orchestrator.cpp: the load
// generator's last second, teardown, verdict, results files).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/net.hpp"
#include "common/signals.hpp"
#include "common/subprocess.hpp"
#include "common/tls.hpp"
#include "runner/collector.hpp"
#include "runner/orchestrator.hpp"
#include "runner/process_runner.hpp"
#include "runner/prom_text.hpp"
#include "runner/prometheus_server.hpp"
#include "runner/results.hpp"
#include "runner/run_record.hpp"

namespace faultline::runner::run_detail {

using Clock = std::chrono::steady_clock;

// A setup or run failure that makes the verdict "error" (exit 2); the message names the component.
struct RunError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// SIGINT/SIGTERM arrived (exit 130).
struct Interrupted {};

// Offsets in seconds from the run's second 0 (when the load generator's intervals begin).
struct TimelineClock {
  Clock::time_point t0;
  double offset(Clock::time_point t) const { return std::chrono::duration<double>(t - t0).count(); }
  Clock::time_point at(double seconds) const {
    return t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }
};

struct Fetched {
  bool ok = false;
  unsigned status = 0;
  std::string body;
  std::string error;
};
// `token`: sent as "Authorization: Bearer TOKEN" when not empty (a proxy API with --api-token).
// `tls`: HTTPS with this client context (the target with "tls": true); null: HTTP.
Fetched fetch(const HostPort& hp, const std::string& method, const std::string& target,
              const std::string& body = "",
              std::chrono::milliseconds timeout = std::chrono::milliseconds(5000),
              const std::string& token = "",
              std::shared_ptr<boost::asio::ssl::context> tls = nullptr);

// Reads complete lines appended to a file since the last call.
class LineTail {
 public:
  explicit LineTail(std::string path) : path_(std::move(path)) {}
  ~LineTail();
  LineTail(const LineTail&) = delete;
  LineTail& operator=(const LineTail&) = delete;
  std::vector<std::string> read();

 private:
  std::string path_;
  int fd_ = -1;
  std::string pending_;
};

class Orchestrator {
 public:
  Orchestrator(const Scenario& s, const RunOptions& o, StopSignals& signals)
      : s_(s), o_(o), signals_(signals) {}
  ~Orchestrator() { teardown(); }
  Orchestrator(const Orchestrator&) = delete;
  Orchestrator& operator=(const Orchestrator&) = delete;

  int run();

 private:
  // The steps of run(), in order.
  void start(RunInfo& info);         // run_start.cpp
  void run_timeline();               // run_timeline.cpp
  void drain();                      // orchestrator.cpp
  int write_outputs(RunInfo& info);  // orchestrator.cpp

  // Start (run_start.cpp).
  void start_redis();
  void start_proxy_process();
  void create_proxy(const ProxySpec& p, const std::string& upstream);
  void start_target();
  void write_run_pki();  // Scenario::run_pki: ${out}/tls, and target_tls_
  void start_load();
  void write_prometheus_sd();
  std::string upstream_of(const ProxySpec& p) const;
  std::vector<std::string> target_argv() const;
  std::vector<std::string> redis_argv(std::size_t shard) const;
  void wait_redis(std::size_t shard);
  // The proxy API (started here or attached): the token is sent when one is set.
  Fetched api(const std::string& method, const std::string& target, const std::string& body = "");

  // Processes, Prometheus and the process actions (run_services.cpp).
  void start_process(const ProcessSpec& p);
  void start_prometheus();
  void evaluate_promql();
  void signal_component(const Action& a);
  double restart_component(const std::string& name);  // seconds until ready again
  std::string exec_command(const Action& a, std::size_t n);
  void stop_processes();

  // The run record and checkpoints (orchestrator.cpp; run_record.hpp).
  json record_header(const RunInfo& info) const;
  void write_record_header(const RunInfo& info);
  void write_checkpoint();
  void record_death(const std::string& component, int status, const std::string& log);
  void log_timeline(TimelineRecord r);
  void rotate_logs();  // scraper thread
  double now_offset() const;
  std::size_t completed_phases() const;
  bool expected_down(const std::string& name) const { return expected_down_.count(name) > 0; }
  HostPort wait_listening(Subprocess& p, const std::string& component, const std::string& log);
  std::optional<Clock::time_point> wait_load_start(Subprocess& p, const std::string& log);
  std::optional<std::string> wait_child_line(Subprocess& p, std::string_view marker,
                                             const std::string& component, const std::string& log,
                                             std::chrono::milliseconds timeout);

  // Timeline (run_timeline.cpp).
  void execute(const Action& a);
  void scrape_boundary(std::size_t k, double at);
  void scraper_loop(std::stop_token st);
  void read_intervals();
  void check_components();

  // Stop signals: throw Interrupted once one has arrived; sleep until `t` unless one arrives.
  void check_stop();
  void sleep_until(Clock::time_point t);
  void teardown();
  std::vector<PhaseWindow> windows() const;
  std::string log_file(const std::string& name) const;

  const Scenario& s_;
  const RunOptions& o_;
  StopSignals& signals_;
  std::vector<Subprocess> redis_;
  std::vector<unsigned short> redis_ports_;
  std::optional<Subprocess> proxy_, target_, load_;
  struct Proc {
    const ProcessSpec* spec = nullptr;
    std::unique_ptr<ManagedProcess> mp;
  };
  std::map<std::string, Proc> procs_;
  std::vector<std::string> procs_started_;  // in start order
  std::mutex procs_mutex_;                  // restart (main thread) vs. /proc sampling (scraper)
  std::set<std::string> expected_down_;     // stopped or ended by the timeline on purpose
  std::unique_ptr<PrometheusServer> prometheus_;
  std::map<std::string, PromqlValue> promql_;        // by assertion name
  std::vector<std::string> attached_created_;        // proxies this run created on an attached API
  std::optional<unsigned short> load_metrics_port_;  // fixed when Prometheus scrapes the load
  double t0_unix_ = 0;                               // second 0 as UNIX time
  std::size_t execs_ = 0;
  RunRecordWriter record_;
  RunInfo* info_ = nullptr;      // the run's info while run() is on the stack (for checkpoints)
  json events_ = json::array();  // components that died
  std::size_t checkpoint_failures_ = 0;
  std::set<std::string> rotation_warned_;  // scraper thread only
  std::optional<HostPort> proxy_api_, target_addr_, load_metrics_;
  // The target with "tls": true is scraped over HTTPS, verified against the run's CA.
  std::shared_ptr<boost::asio::ssl::context> target_tls_;
  // When second 0 of the load generator's intervals began: the timeline counts from there, so a
  // phase boundary at a whole second falls exactly between two interval lines.
  std::optional<Clock::time_point> load_t0_;
  std::map<std::string, HostPort> proxy_listen_;
  std::string intervals_path_, load_out_;
  std::unique_ptr<Collector> collector_;
  std::mutex collector_mutex_;  // the scraper thread adds resources while the main thread reads
  std::unique_ptr<LineTail> tail_;
  TimelineClock clock_{};
  std::vector<TimelineRecord> timeline_log_;
  std::size_t boundaries_done_ = 0;
  std::jthread scraper_;
  bool torn_down_ = false;
};

}  // namespace faultline::runner::run_detail
