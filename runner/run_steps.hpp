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

#include "common/line_segments.hpp"
#include "common/net.hpp"
#include "common/signals.hpp"
#include "common/subprocess.hpp"
#include "common/tls.hpp"
#include "runner/collector.hpp"
#include "runner/load_intervals.hpp"
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

// What a run starts besides its load generator and Prometheus: the Redis shards, the proxy process
// (or the proxies it created on an attached API), the target and the scenario's processes, with
// the addresses they listen on. Owned by the run, or kept between runs in a KeptSystem.
struct System {
  std::vector<Subprocess> redis;
  std::vector<unsigned short> redis_ports;
  std::optional<Subprocess> proxy, target;
  struct Proc {
    const ProcessSpec* spec = nullptr;  // of the scenario of the run that holds the system
    int stop_signal = 15;
    double stop_grace_seconds = 10;
    std::unique_ptr<ManagedProcess> mp;
  };
  std::map<std::string, Proc> procs;
  std::vector<std::string> procs_started;  // in start order
  std::optional<HostPort> proxy_api, target_addr;
  std::string api_token;                      // for proxy_api
  std::string attached_api;                   // services.proxy_api when attached ("" = own)
  std::vector<std::string> attached_created;  // proxies created on the attached API
  std::map<std::string, HostPort> proxy_listen;
  // The target with "tls": true is scraped over HTTPS, verified against the run's CA.
  std::shared_ptr<boost::asio::ssl::context> target_tls;
  std::string log_dir;  // where its components' logs are

  bool empty() const { return redis.empty() && !proxy && !target && procs.empty() && !proxy_api; }
  // The first component that is not running ("" when all are), e.g. "redis shard 1".
  std::string not_running();
  // Stops everything in teardown order, each with SIGTERM (a process: its own stop signal) and
  // SIGKILL after a grace period: the processes in reverse start order, the target, the proxies
  // created on an attached API, the proxy process, the Redis shards. Leaves it empty.
  void stop();
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
  void start_system();  // Redis, the proxy, then services.start_order (a KeptSystem's: counted)
  // A kept system (RunOptions::keep_system): taken over at the start, handed back at teardown.
  // False when it was not whole or its proxies could not be reset: then it has been stopped.
  bool adopt_kept_system();
  void reset_proxies();  // every proxy enabled, with exactly the scenario's initial toxics
  void start_target();
  void write_run_pki();  // Scenario::run_pki: ${out}/tls, and target_tls_
  void start_load();
  std::vector<std::string> load_argv(const std::string& url, const std::string& workload,
                                     std::size_t shard) const;
  bool load_running();  // any load process
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
  void check_promql_queries();
  void evaluate_promql();
  void signal_component(const Action& a);
  double restart_component(const std::string& name);  // seconds until ready again
  std::string exec_command(const Action& a, std::size_t n);

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
  std::string log_file(const std::string& name) const;         // the run's logs/NAME.log
  std::string system_log_file(const std::string& name) const;  // the system's (sys_.log_dir)

  const Scenario& s_;
  const RunOptions& o_;
  StopSignals& signals_;
  std::vector<Subprocess> loads_;  // the load generator; one per shard with "load.shards"
  // The system: started here, or taken over from (and handed back to) o_.keep_system.
  System sys_;
  bool reused_ = false;      // sys_ came from o_.keep_system
  bool keep_after_ = false;  // hand sys_ back to o_.keep_system at teardown (the run went well)
  std::mutex procs_mutex_;   // restart (main thread) vs. /proc sampling (scraper)
  std::set<std::string> expected_down_;  // stopped or ended by the timeline on purpose
  std::unique_ptr<PrometheusServer> prometheus_;
  std::map<std::string, PromqlValue> promql_;       // by assertion name
  std::vector<unsigned short> load_metrics_ports_;  // per shard; fixed when Prometheus scrapes
  double t0_unix_ = 0;                              // second 0 as UNIX time
  std::size_t execs_ = 0;
  std::vector<HostPort> load_metrics_;  // every shard's /metrics, shard 0's first
  RunRecordWriter record_;
  RunInfo* info_ = nullptr;      // the run's info while run() is on the stack (for checkpoints)
  json events_ = json::array();  // components that died
  std::size_t checkpoint_failures_ = 0;
  std::set<std::string> rotation_warned_;  // scraper thread only
  // When second 0 of the load generator's intervals began: the timeline counts from there, so a
  // phase boundary at a whole second falls exactly between two interval lines.
  std::optional<Clock::time_point> load_t0_;
  std::string intervals_path_, load_out_;
  std::unique_ptr<Collector> collector_;
  std::mutex collector_mutex_;  // the scraper thread adds resources while the main thread reads
  std::unique_ptr<LoadIntervals> tail_;
  TimelineClock clock_{};
  std::vector<TimelineRecord> timeline_log_;
  std::size_t boundaries_done_ = 0;
  std::jthread scraper_;
  bool torn_down_ = false;
};

}  // namespace faultline::runner::run_detail
