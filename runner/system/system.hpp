// The system a run starts and stops — Redis shards, the proxy server (or an attached proxy API)
// with the scenario's proxies on it, the target, the user's processes — as a list of components
// (component.hpp) in start order. Starting is one walk of the scenario's start order; checking,
// sampling and stopping are loops over the list (teardown in reverse start order). A KeptSystem
// holds one between runs of the same scenario (`faultline envelope`'s trials).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runner/scenario/scenario.hpp"
#include "runner/system/components.hpp"

namespace faultline::runner {

struct SystemOptions {
  std::string out_dir;        // the run's output directory (processes' folders, target-data)
  std::string log_dir;        // where the components' logs go
  std::string faultline_exe;  // runs the target and the proxy
  std::string api_token;      // the proxy API's bearer token
};

class System {
 public:
  System() = default;
  ~System() { stop(); }
  System(const System&) = delete;
  System& operator=(const System&) = delete;

  // Starts what `s` names, each ready before the next: the run's PKI, the Redis shards, the proxy
  // server, then services.start_order (target, proxies, processes). Throws RunError naming what
  // failed (what started is left for stop()), Interrupted when `should_stop` turns true.
  void start(const Scenario& s, const SystemOptions& o, const StopCheck& should_stop);
  bool empty() const noexcept { return components_.empty(); }
  const std::string& log_dir() const noexcept { return options_.log_dir; }

  // Points the user's processes at `s`'s specs (a kept system's next run).
  void adopt(const Scenario& s);

  Component* find(const ComponentId& id);
  ProxyServer* proxy() noexcept { return proxy_; }
  std::optional<HostPort> target_address() const;
  std::map<std::string, HostPort> proxy_listen() const;
  // Every component's /metrics endpoint, in start order, keyed by ComponentId::key().
  std::vector<std::pair<std::string, MetricsEndpoint>> metrics_endpoints() const;
  // The target's HTTPS client context (the run's CA), null when it serves HTTP.
  std::shared_ptr<boost::asio::ssl::context> target_tls() const { return target_tls_; }

  // Sends `sig` to a component; restarts one (stopped and started under the lock the resource
  // sampler takes, then waited for until ready). Throw RunError for an unknown component.
  void signal(const ComponentId& id, int sig);
  void restart(const ComponentId& id, const StopCheck& should_stop);

  // The first component that is not running, in a sentence ("" when all are).
  std::string not_running();
  // The components that are not running and not in `expected_down` (keys).
  std::vector<Component*> dead(const std::vector<std::string>& expected_down);
  // "<prefix>_rss_bytes" / "<prefix>_open_fds" of every sampled component.
  void sample_resources(std::map<std::string, double>& values);
  // Stops everything in reverse start order (each: SIGCONT, its stop signal, grace, SIGKILL; an
  // attached API: the proxies this run created are removed). Leaves it empty.
  void stop();

 private:
  void write_run_pki(const Scenario& s);
  std::vector<std::string> target_argv(const Scenario& s) const;
  std::string upstream_of(const Scenario& s, const ProxySpec& p) const;
  template <class C, class... Args>
  C& add(Args&&... args);

  SystemOptions options_;
  std::mutex mutex_;  // the list and restarts vs. the resource sampler (another thread)
  std::vector<std::unique_ptr<Component>> components_;  // in start order
  std::vector<RedisShard*> redis_;
  ProxyServer* proxy_ = nullptr;
  TargetProcess* target_ = nullptr;
  std::shared_ptr<boost::asio::ssl::context> target_tls_;
};

// A system kept running after a run so that the next run of the same scenario reuses it instead of
// starting its own (`faultline envelope`'s trials). Given in RunOptions::keep_system: a run that
// finds it empty starts the system as usual and leaves it here when it ends, unless the run ended
// in error or was interrupted (then everything is stopped as usual); a run that finds it holding a
// system resets every proxy to the scenario's initial state (enabled, exactly its initial toxics
// with this run's attributes) and runs its load against it. The runs must be of the same scenario,
// differing at most in the load and the toxics' attributes, and the scenario must allow it
// (system_reuse_obstacle). Destroying it stops what it holds.
class KeptSystem {
 public:
  // Each system started into it logs to LOG_ROOT/NN/NAME.log, NN its start number (01, 02, ...).
  explicit KeptSystem(std::string log_root) : log_root_(std::move(log_root)) {}
  ~KeptSystem() { stop(); }
  KeptSystem(const KeptSystem&) = delete;
  KeptSystem& operator=(const KeptSystem&) = delete;

  bool holds() const noexcept { return sys_ && !sys_->empty(); }
  void stop();  // stops what it holds, in teardown order
  // How many times a run started a system into it (the one it holds is number starts()).
  int starts() const noexcept { return starts_; }
  // The placeholder values of the run that started the system (its ports, its TLS files) but
  // `out`: pass them as RunContext::fixed_values when resolving the runs that reuse it.
  const std::map<std::string, std::string>& placeholder_values() const noexcept { return values_; }
  std::string log_dir() const;  // of the system it holds (or was last started)

  // For the run: the system it holds (empty when none), and where a new one logs (counted).
  std::unique_ptr<System> take();
  std::string next_log_dir();
  // Keeps `sys` (started by a run whose placeholder values were `values`, when it started it).
  void keep(std::unique_ptr<System> sys, const std::map<std::string, std::string>* values);

 private:
  std::string log_root_;
  std::unique_ptr<System> sys_;
  std::map<std::string, std::string> values_;
  int starts_ = 0;
};

// "" when a scenario's system can be kept between runs (KeptSystem); otherwise why not, naming the
// JSON path: a timeline that signals or restarts a component or runs a command changes the system
// beyond what resetting the proxies undoes.
std::string system_reuse_obstacle(const Scenario& s);

}  // namespace faultline::runner
