// The scenario model of `faultline run`: what to start (target, Redis shards, proxies, the user's
// own processes, load, a Prometheus), the timeline of actions (toxics, signals, restarts, commands)
// that marks named phases, and the assertions. `${port.NAME}` and the other placeholders
// (runner/scenario/placeholders.hpp) are checked at parse time and substituted by
// resolve_for_run(). Parsed and validated once from JSON, before anything starts; every error
// carries its JSON path. Toxics, load stages and the workload are validated with the proxy's and
// the load generator's own code.
// `--set key.path=value` overrides are applied to the JSON before validation, `--duration` rescales
// the timeline afterwards.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "loadgen/load_options.hpp"
#include "runner/assertions/assertion.hpp"
#include "runner/scenario/component_id.hpp"
#include "runner/system/process_runner.hpp"

namespace faultline::runner {

struct TargetSpec {
  bool enabled = false;
  std::string mode = "resilient";  // resilient | naive
  std::string store = "memory";    // memory | file | redis
  std::optional<std::int64_t> threads, solver_threads, solver_queue;
  std::int64_t debug_leak_bytes_per_request = 0;
  std::vector<std::string> args;   // extra flags passed verbatim
  std::string listen;              // "" = 127.0.0.1:0 (the target reports its port)
  std::vector<std::string> after;  // start after these (processes, proxies)
  bool tls = false;  // HTTPS with the run's throw-away certificate (Scenario::run_pki)
};

struct ProxySpec {
  enum class Upstream { target, redis_shard, address };
  std::string name;
  std::string protocol = "tcp";  // tcp | http | redis
  Upstream upstream_kind = Upstream::address;
  int shard = -1;            // for redis_shard
  std::string address;       // for address ("host:port")
  std::vector<json> toxics;  // created with the proxy, verbatim (checked by proxy::parse_toxic)
  // Other proxy members passed through (max_active_faults, record, tls, upstream_tls; the paths
  // in tls/upstream_tls made absolute against the scenario's directory).
  json extra = json::object();
  std::string listen;              // "" = 127.0.0.1:0 (the proxy reports the bound port)
  std::vector<std::string> after;  // created after these (target, processes, other proxies)
};

// services.processes[]: a program the runner starts, supervises and stops (the user's service,
// nginx, a database...). Strings are already substituted (placeholders.hpp).
struct ProcessSpec {
  std::string name;
  std::vector<std::string> command;
  std::map<std::string, std::string> env;
  std::string cwd;                            // "" = ${out}/NAME
  std::map<std::string, std::string> files;   // written under ${out}/NAME/ before start
  std::map<std::string, std::string> copies;  // relative path -> absolute source, copied then
  // "user" / "group": run as this account (the runner must be root); its directory and files are
  // then owned by it. Resolved at parse time from the system's user and group databases.
  std::string user, group;
  std::optional<std::uint32_t> uid, gid;
  std::vector<std::uint32_t> groups;  // the user's supplementary groups
  std::string home;                   // the user's home directory (HOME, unless env sets it)
  ReadyCheck ready;     // how the runner tells it is ready (process_runner.hpp); default: running
  std::string metrics;  // "" or http://HOST:PORT/PATH, scraped like ours
  HostPort metrics_address;  // `metrics` split once at parse time
  std::string metrics_path;
  int stop_signal = 15;
  std::string stop_signal_name = "TERM";
  double stop_grace_seconds = 5;
  std::vector<std::string> after;
};

// What starts when, in order (services.*.after plus the implicit edges: a proxy in front of the
// target starts after it, a target on proxied Redis after those proxies).
struct StartItem {
  enum class Kind { target, proxy, process };
  Kind kind = Kind::target;
  std::string name;  // proxy or process name; "target"
};

struct LoadSpec {
  bool enabled = false;
  std::string via;  // proxy name the load goes through; empty: straight to the target
  std::string url;  // or any base URL (http://HOST:PORT[/prefix]), e.g. the user's service
  std::string workload_file;  // absolute path, or empty when `workload_inline` is used
  json workload_inline;       // an embedded workload object
  // rate, users, stages, connections, timeout, seed: parsed and validated by the load
  // generator's own rules (loadgen/load_options.hpp) and handed to it with loadgen::to_argv.
  loadgen::LoadOptions options;
  double apdex_t_seconds = 0.1;
  // Local load processes (`--shard I/N`, one --start-at), their intervals merged per second.
  std::int64_t shards = 1;
  // "external": true — the load runs elsewhere (e.g. a Kubernetes Job); nothing is started and
  // the load is judged with promql assertions. `enabled` stays false.
  bool external = false;
  std::vector<std::string> args;
  // The names the workload records stats under (loadgen::parse_workload); nullopt when it did not
  // parse (its errors were reported).
  std::optional<std::vector<std::string>> request_names;
};

struct Action {
  enum class Kind {
    add_toxic,
    update_toxic,
    remove_toxic,
    disable_proxy,
    enable_proxy,
    signal,   // a signal to a process, the target or a Redis shard ("process")
    restart,  // stop, start, wait until ready (the time it took is recorded)
    exec      // run a command to completion (its status and output are recorded)
  };
  Kind kind = Kind::add_toxic;
  std::string proxy;
  std::string process;  // signal/restart: a process name, "target" or "redis:I", as given
  std::optional<ComponentId> component;  // signal/restart: `process`, parsed
  int signal = 0;
  std::string signal_name;
  std::vector<std::string> command;  // exec
  double timeout_seconds = 10;       // exec
  bool allow_failure = false;        // exec: a non-zero exit does not end the run
  std::string toxic;                 // toxic name (add: from the body or proxy::default_toxic_name)
  json body;  // add: the toxic object; update: the partial object (the action's members
              // other than action/proxy/toxic), merged by proxy::update_toxic
  std::string describe() const;  // "add toxic http_error on target_http"
  // Whether it changes the system beyond what resetting the proxies undoes (a kept system cannot
  // be reused by the next run: system_reuse_obstacle).
  bool changes_system() const;
};

struct TimelineEntry {
  double at_seconds = 0;
  std::string phase;
  std::vector<Action> actions;
  // Whether any toxic is active or any proxy disabled once `actions` ran (from the toxic state
  // simulated at parse time).
  bool fault_active = false;
};

struct Scenario {
  std::string name;
  std::string description;
  std::string file;  // as given on the command line ("" for in-memory scenarios)
  double duration_seconds = 0;
  int redis_shards = 0;
  TargetSpec target;
  std::vector<ProxySpec> proxies;
  std::vector<ProcessSpec> processes;
  std::vector<StartItem> start_order;
  std::string proxy_api;    // services.proxy_api: drive this running proxy instead of starting one
  bool prometheus = false;  // services.prometheus, or any promql assertion
  // services.prometheus.url: query this running Prometheus instead of starting one; promql
  // assertions wait `prometheus_scrape_wait` after their phase before they ask.
  std::optional<HostPort> prometheus_address;
  std::string prometheus_path;  // the URL's path ("/" when none)
  double prometheus_scrape_wait_seconds = 15;
  std::vector<unsigned short> redis_ports;  // picked by resolve_for_run (empty: pick at start)
  // A throw-away PKI under ${out}/tls (CA, a server certificate for localhost/127.0.0.1/::1, a
  // client certificate) is written before anything starts: when the target has "tls": true or a
  // ${tls.*} placeholder is used.
  bool run_pki = false;
  LoadSpec load;
  std::vector<TimelineEntry> timeline;
  std::vector<std::unique_ptr<Assertion>> assertions;
  json effective;  // the JSON after --set overrides (kept for the results)
  json source;     // the same, placeholders not substituted (resolve_for_run re-parses it)
  std::map<std::string, std::string> vars;  // $.vars (after --set / --var), for ${var.NAME}
  std::string base_dir;
  std::optional<double> scaled_to;                        // --duration
  std::map<std::string, std::string> placeholder_values;  // set by resolve_for_run

  const ProxySpec* proxy(const std::string& name) const;
  const ProcessSpec* process(const std::string& name) const;
  // Phase names in timeline order, without duplicates.
  std::vector<std::string> phase_names() const;
};

// Applies "a.b.c=value" to `doc`: value is JSON when it parses as JSON, else a string. A numeric
// segment indexes an array. A first segment of target/redis/proxies (not present at the top level)
// is looked up under "services". Records an error mentioning the override when the path cannot be
// applied.
void apply_override(json& doc, const std::string& assignment, ConfigErrors& errors);

// Validates `doc` into a Scenario; `base_dir` resolves relative workload paths. Throws ConfigError
// listing every error (each with its JSON path). Placeholders are checked by name and replaced by
// `values` (resolve_for_run) or, when null, by stand-ins that only serve validation.
Scenario parse_scenario(const json& doc, const std::string& base_dir,
                        const AssertionRegistry& registry = builtin_assertions(),
                        const std::map<std::string, std::string>* values = nullptr);

// What the run knows before it starts anything, for the placeholders.
struct RunContext {
  std::string out_dir;        // absolute
  std::string faultline_exe;  // absolute
  // Values taken as they are instead of picked (a kept system's ports and TLS files:
  // KeptSystem::placeholder_values).
  std::map<std::string, std::string> fixed_values;
};
// The scenario with every placeholder substituted: picks a free loopback port per ${port.NAME}, for
// the Redis shards, for the target when ${target.url} is used or it is restarted, and for proxies
// whose ${proxies.NAME.listen} is used without a `listen`; re-parses and re-applies --duration.
// Throws ConfigError (a port cannot be picked, a substituted value is invalid).
Scenario resolve_for_run(const Scenario& validated, const RunContext& ctx);

// Multiplies every timeline time and the total duration so it becomes `new_duration_seconds`,
// rounding every boundary to a whole second; load stages are scaled with the load generator's
// grammar (loadgen::scale_stages). Throws ConfigError when the stages do not parse (parse_scenario
// has rejected such stages already).
void scale_duration(Scenario& s, double new_duration_seconds);

// Throws ConfigError when `--duration new_duration_seconds` would leave a phase shorter than 2 s
// (or than an assertion on it needs, e.g. recovery_time's stable_seconds + 1), naming the phase and
// the smallest --duration that works.
void check_compressed_phases(const Scenario& original, double new_duration_seconds);

// Loads FILE, applies overrides, parses, applies `--duration`. Throws ConfigError.
Scenario load_scenario(const std::string& file, const std::vector<std::string>& overrides,
                       std::optional<double> duration_seconds);

}  // namespace faultline::runner
