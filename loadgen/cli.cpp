// `faultline load` (the load generator) and `faultline report merge` (lossless merge of shard
// results). Flags are validated before anything starts, the options a scenario shares (rate, users,
// stages, connections, timeout, seed, duration) by load_options.hpp's rules; bad input → message
// naming the flag on stderr, exit 2.
#include "loadgen/cli.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <new>
#include <string_view>
#include <system_error>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/config.hpp"
#include "loadgen/engine.hpp"
#include "loadgen/interval_merge.hpp"
#include "loadgen/load_flags.hpp"
#include "loadgen/merge.hpp"
#include "loadgen/push_gateway.hpp"
#include "loadgen/replay.hpp"
#include "loadgen/session_flags.hpp"
#include "loadgen/start_at.hpp"
#include "loadgen/stats.hpp"
#include "loadgen/threshold.hpp"

namespace faultline::loadgen {
namespace {

struct LoadArgs {
  std::string url;
  std::string workload;
  // --rate, --users, --stages, --connections, --timeout, --seed, --duration (load_options.hpp)
  LoadOptionFlags options;
  std::size_t threads = 0;
  std::string think_time;
  std::vector<std::string> thresholds;
  std::string out;
  std::string intervals_out;
  std::string intervals_roll = "1h";
  std::string metrics_listen;
  std::string shard;
  std::string replay;
  std::string har;
  double speed = 1;
  bool insecure = false;
  std::string cacert;
  std::string method = "GET";
  std::string body;
  bool quiet = false;
  bool allow_unsent = false;
  std::string start_at;
  PushGatewaySettings push;
  CLI::Option* start_at_opt = nullptr;
  // --ws-*, --sse, --sse-events (session_flags.hpp)
  SessionFlags sessions;
};

// Upper bound on the threads, checked before anything is allocated: each carries its own event
// loop and per-stage statistics (megabytes), so `-t 10000` used to grow until the OOM killer came.
// Far above what one process can use well. (Connections and users: kMaxConnections.)
constexpr std::size_t kMaxThreads = 256;

// RFC 9110 token: what a method may consist of.
bool is_http_token(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

int usage_error(const std::string& message) {
  std::cerr << "faultline load: " << message << "\n";
  return kExitUsage;
}

int usage_errors(const ConfigErrors& errors) {
  for (const auto& e : errors.list())
    std::cerr << "faultline load: " << e << "\n";
  return kExitUsage;
}

// A duration the load options' rules already accepted.
double seconds_of(std::string_view valid_duration) {
  return std::chrono::duration<double>(*parse_duration(valid_duration)).count();
}

// More of the schedule than this never sent fails a run (exit 1) whatever its thresholds say: it
// did not offer the load it was asked for, so its numbers describe another test. --allow-unsent
// takes such a run.
constexpr double kMaxUnsentRatio = 0.01;

// Open model: what was offered and what became of it; a warning when arrivals were never sent.
void print_schedule(const json& s) {
  const auto count = [&](const char* k) { return s.value(k, std::uint64_t{0}); };
  const auto pct = [&](const char* k) {
    const auto it = s.find(k);
    return it != s.end() && it->is_number() ? it->get<double>() * 100 : 0.0;
  };
  const std::uint64_t offered = count("offered"), never = count("unsent") + count("dropped");
  char b[320];
  std::snprintf(b, sizeof b,
                "  schedule: offered %llu, sent %llu, late %llu (%.2f%%), unsent %llu (%.2f%%; "
                "%llu queued at the end, %llu dropped)\n",
                static_cast<unsigned long long>(offered),
                static_cast<unsigned long long>(count("sent")),
                static_cast<unsigned long long>(count("late")), pct("late_ratio"),
                static_cast<unsigned long long>(never), pct("unsent_ratio"),
                static_cast<unsigned long long>(count("unsent")),
                static_cast<unsigned long long>(count("dropped")));
  std::cerr << b;
  if (never > 0)
    std::cerr << "  WARNING: " << never << " of " << offered
              << " scheduled requests were never sent: the generator could not keep the rate — "
                 "raise --connections/--threads; these count as errors (errors.unsent, "
                 "error_ratio)\n";
}

// https: handshakes apart from request latency.
void print_handshakes(const json& t) {
  const json& d = t["handshake_seconds"];
  char b[256];
  std::snprintf(b, sizeof b,
                "  tls handshakes: %llu (%llu failed), mean %.3fms  p50 %.3fms  p99 %.3fms  max "
                "%.3fms\n",
                static_cast<unsigned long long>(t["handshakes"].get<std::uint64_t>()),
                static_cast<unsigned long long>(t["failed"].get<std::uint64_t>()),
                d["mean"].get<double>() * 1e3, d["p50"].get<double>() * 1e3,
                d["p99"].get<double>() * 1e3, d["max"].get<double>() * 1e3);
  std::cerr << b;
}

void print_summary(const json& r, const std::vector<json>& threshold_report) {
  auto lat = [](const json& l) {
    char b[256];
    std::snprintf(b, sizeof b, "p50 %.3fms  p90 %.3fms  p99 %.3fms  p99.9 %.3fms  max %.3fms",
                  l["p50"].get<double>() * 1e3, l["p90"].get<double>() * 1e3,
                  l["p99"].get<double>() * 1e3, l["p999"].get<double>() * 1e3,
                  l["max"].get<double>() * 1e3);
    return std::string(b);
  };
  const std::uint64_t never_sent = r["requests"].value("unsent", std::uint64_t{0});
  char never[64] = "";
  if (never_sent > 0)
    std::snprintf(never, sizeof never, ", %llu never sent",
                  static_cast<unsigned long long>(never_sent));
  char head[320];
  std::snprintf(head, sizeof head,
                "faultline load: %llu requests in %.2fs (%.1f req/s), %llu ok, %llu failed%s%s\n",
                static_cast<unsigned long long>(r["requests"]["total"].get<std::uint64_t>()),
                r["duration_seconds"].get<double>(), r["throughput_rps"].get<double>(),
                static_cast<unsigned long long>(r["requests"]["ok"].get<std::uint64_t>()),
                static_cast<unsigned long long>(r["requests"]["failed"].get<std::uint64_t>()),
                never, r.value("interrupted", false) ? " (interrupted)" : "");
  std::cerr << head;
  std::cerr << "  latency (corrected):   " << lat(r["latency_seconds"]) << "\n";
  std::cerr << "  latency (uncorrected): " << lat(r["latency_uncorrected_seconds"]) << "\n";
  std::string errs;
  for (const auto& [k, v] : r["errors"].items())
    if (v.get<std::uint64_t>() > 0) errs += " " + k + "=" + std::to_string(v.get<std::uint64_t>());
  if (!errs.empty()) std::cerr << "  errors:" << errs << "\n";
  if (r["model"] == "open" || r["model"] == "replay") print_schedule(r["schedule"]);
  if (const auto t = r.find("tls"); t != r.end()) print_handshakes(*t);
  // Response checks: "  checks: cached 0/120 passed (100.0% failed), ok 120/120 passed".
  if (const auto c = r.find("checks"); c != r.end() && c->is_object() && !c->empty()) {
    std::string line = "  checks:";
    for (const auto& [name, v] : c->items()) {
      const auto passed = v.value("passed", std::uint64_t{0});
      const auto all = passed + v.value("failed", std::uint64_t{0});
      line += fmt::format("{} {} {}/{} passed", line.size() > 9 ? "," : "", name, passed, all);
      if (all > passed)
        line += fmt::format(" ({:.1f}% failed)",
                            100.0 * static_cast<double>(all - passed) / static_cast<double>(all));
    }
    std::cerr << line << "\n";
  }
  // Sessions: "  sessions chat: 120 opened, 110 completed, 10 ended early, 10 reconnects
  // (close codes 1012=10)".
  if (const auto ss = r.find("sessions"); ss != r.end() && ss->is_object())
    for (const auto& [name, v] : ss->items()) {
      const auto n = [&](const char* k) { return v.value(k, std::uint64_t{0}); };
      std::string codes;
      if (const auto cc = v.find("close_codes"); cc != v.end() && cc->is_object())
        for (const auto& [code, k] : cc->items())
          codes += fmt::format("{}{}={}", codes.empty() ? " (close codes " : " ", code, k.dump());
      std::cerr << fmt::format(
          "  sessions {}: {} opened, {} completed, {} ended early, {} reconnects{}\n", name,
          n("opened"), n("completed"), n("ended_early"), n("reconnects"),
          codes.empty() ? "" : codes + ")");
    }
  for (const auto& t : threshold_report)
    std::cerr << "  threshold " << t["expr"].get<std::string>() << ": "
              << (t["ok"].get<bool>() ? "ok" : "FAILED") << " (value " << t["value"] << ")\n";
}

int run_load_command(const LoadArgs& a) {
  EngineConfig cfg;
  std::string error;
  if (a.url.empty()) return usage_error("a target URL is required (http://HOST:PORT/path)");
  auto url = parse_url(a.url, error);
  if (!url) return usage_error(error);
  cfg.url = *url;
  if (!a.cacert.empty() && a.insecure)
    return usage_error("--cacert and --insecure exclude each other");
  if (!a.cacert.empty() && !cfg.url.tls)
    return usage_error("--cacert applies to https:// and wss:// URLs");
  if (auto bad = a.sessions.check(cfg.url, !a.workload.empty()); !bad.empty())
    return usage_error(bad);

  // Rate, users, stages, connections, timeout, seed and duration: the rules scenarios share.
  ConfigErrors option_errors;
  const LoadOptions o = a.options.read(option_errors);
  if (!option_errors.empty()) return usage_errors(option_errors);

  // Mutually exclusive choices.
  if (!a.replay.empty() && !a.har.empty())
    return usage_error("--replay and --har exclude each other");
  const bool replaying = !a.replay.empty() || !a.har.empty();
  if (replaying && !a.workload.empty())
    return usage_error("--workload cannot be combined with --replay/--har");
  if (replaying && a.sessions.sessions(cfg.url))
    return usage_error("--replay/--har replay HTTP requests: give an http:// or https:// URL");
  if (replaying && o.users) return usage_error("--users cannot be combined with --replay/--har");
  if (replaying && o.stages) return usage_error("--stages cannot be combined with --replay/--har");
  if (!a.think_time.empty() && !o.users)
    return usage_error("--think-time applies to the closed model (--users)");
  if (!(a.speed > 0)) return usage_error("--speed must be > 0");
  if (a.threads > kMaxThreads)
    return usage_error("--threads: at most " + std::to_string(kMaxThreads) +
                       " (one event loop each; the default is one per core)");
  if (!is_http_token(a.method))
    return usage_error("--method: \"" + a.method +
                       "\" is not an HTTP method (letters, digits and !#$%&'*+-.^_`|~ only)");

  const double duration_s = seconds_of(o.duration.value_or(std::string(kDefaultDuration)));
  cfg.timeout = *parse_duration(o.timeout.value_or(std::string(kDefaultTimeout)));
  cfg.duration_seconds = duration_s;
  cfg.connections = static_cast<std::size_t>(o.connections.value_or(kDefaultConnections));
  cfg.threads = a.threads ? a.threads : std::max(1u, std::thread::hardware_concurrency());
  cfg.seed = o.seed.value_or(kDefaultSeed);
  cfg.insecure = a.insecure;
  cfg.cacert = a.cacert;
  cfg.intervals_out = a.intervals_out;
  if (a.intervals_roll == "0") {
    cfg.intervals_roll_seconds = 0;
  } else {
    auto roll = parse_duration(a.intervals_roll);
    if (!roll || *roll < std::chrono::seconds(1))
      return usage_error("--intervals-roll: expected a duration of at least 1s such as 1h, or 0");
    cfg.intervals_roll_seconds = std::chrono::duration<double>(*roll).count();
  }
  cfg.progress = !a.quiet;

  if (!a.shard.empty()) {
    unsigned i = 0, n = 0;
    char extra = 0;
    if (std::sscanf(a.shard.c_str(), "%u/%u%c", &i, &n, &extra) != 2 || n == 0 || i >= n)
      return usage_error("--shard: expected I/N with 0 <= I < N (e.g. 0/4)");
    cfg.shard = i;
    cfg.shards = n;
  }
  // Given, the value must parse: an empty one (an unset variable in a wrapper) is not "now".
  if (a.start_at_opt && a.start_at_opt->count() > 0) {
    cfg.start_at_unix = parse_start_at(a.start_at, launch_unix(), error);
    if (!cfg.start_at_unix) return usage_error(error);
  }
  if (a.push.url.empty() && (a.push.keep || a.push.job != PushGatewaySettings{}.job))
    return usage_error("--push-job and --push-keep need --push-gateway");
  if (!a.push.url.empty()) {
    auto group = push_group_url(a.push, cfg.shard, error);
    if (!group) return usage_error(error);
    cfg.push_url = *group;
    cfg.push_keep = a.push.keep;
  }
  if (!a.metrics_listen.empty()) {
    auto hp = parse_host_port(a.metrics_listen);
    if (!hp) return usage_error("--metrics-listen: expected HOST:PORT (e.g. 127.0.0.1:0)");
    cfg.metrics_listen = *hp;
  }
  if (!a.think_time.empty()) {
    const auto colon = a.think_time.find(':');
    auto lo = parse_duration(a.think_time.substr(0, colon));
    auto hi = colon == std::string::npos ? lo : parse_duration(a.think_time.substr(colon + 1));
    if (!lo || !hi || *hi < *lo)
      return usage_error("--think-time: expected MIN or MIN:MAX durations (e.g. 1s:3s)");
    cfg.think_min_seconds = std::chrono::duration<double>(*lo).count();
    cfg.think_max_seconds = std::chrono::duration<double>(*hi).count();
  }

  // Model and profile (the options' rules checked the stages, the levels and their bounds).
  std::optional<std::vector<Stage>> stages;
  if (o.stages) stages = parse_stages(*o.stages, error);
  // With --stages, --duration cuts or extends them only when given explicitly.
  const bool duration_given = o.duration.has_value();
  if (o.rate || o.users) {
    cfg.model = o.rate ? Model::open : Model::closed;
    cfg.profile = stages ? Profile(*stages, duration_given ? duration_s : 0)
                         : Profile::constant(o.rate ? *o.rate : *o.users, duration_s);
  } else {
    cfg.model = Model::max;
    cfg.profile = Profile::constant(0, duration_s);
  }

  // Workload.
  Workload workload;
  std::vector<ReplayItem> replay;
  try {
    if (!a.workload.empty()) {
      json doc = load_json_file(a.workload);
      ConfigErrors errors;
      workload = parse_workload(doc, errors);
      if (!errors.empty()) {
        std::cerr << "faultline load: invalid workload " << a.workload << ":\n"
                  << errors.to_string() << "\n";
        return kExitUsage;
      }
    } else if (a.sessions.sessions(cfg.url)) {
      ConfigErrors errors;
      workload = a.sessions.workload(cfg.url, errors);
      if (!errors.empty()) return usage_errors(errors);
    } else if (!replaying) {
      workload = single_request_workload(a.method, cfg.url.target, a.body);
    }
    if (!a.replay.empty()) replay = load_recording(a.replay, cfg.url.host_header, workload);
    if (!a.har.empty()) replay = load_har(a.har, cfg.url.host_header, workload);
  } catch (const ConfigError& e) {
    std::cerr << "faultline load: " << e.what() << "\n";
    return kExitUsage;
  }
  prerender(workload, cfg.url.host_header);
  cfg.workload = &workload;
  if (replaying) {
    cfg.replay = &replay;
    cfg.model = Model::open;
    if (o.rate) cfg.replay_rate = *o.rate;  // whole-run rate; senders split it by shard
    cfg.replay_speed = a.speed;
    // Long enough for the whole recording unless --duration was given.
    if (!duration_given) cfg.duration_seconds = 1e9;
  }

  // Thresholds (validated before the run).
  std::vector<Threshold> thresholds;
  for (const auto& t : a.thresholds) {
    auto th = parse_threshold(t, error);
    if (!th) return usage_error(error);
    const auto& sessions = workload.session_names;
    if (th->session && sessions.empty())
      return usage_error("--threshold \"" + t +
                         "\": the workload has no sessions (WebSocket or SSE entries)");
    if (th->session && !th->scope.empty() &&
        std::find(sessions.begin(), sessions.end(), th->scope) == sessions.end())
      return usage_error("--threshold \"" + t + "\": no session entry named \"" + th->scope +
                         "\" in the workload");
    if (!th->session && !th->scope.empty() &&
        std::find(workload.request_names.begin(), workload.request_names.end(), th->scope) ==
            workload.request_names.end())
      return usage_error("--threshold \"" + t + "\": no request named \"" + th->scope +
                         "\" in the workload");
    const auto& checks = workload.check_names;
    if (!th->check.empty() && std::find(checks.begin(), checks.end(), th->check) == checks.end())
      return usage_error("--threshold \"" + t + "\": no check named \"" + th->check +
                         "\" in the workload");
    thresholds.push_back(*th);
  }

  std::ofstream out;
  if (!a.out.empty() && a.out != "-") {
    out.open(a.out, std::ios::trunc);
    if (!out) return usage_error("--out: cannot write " + a.out);
  }

  // Before the engine starts any thread; alive until the results are written, so a stop signal
  // ends the run early and never the process.
  StopSignals stop_signals;
  cfg.stop_signals = &stop_signals;
  json results;
  try {
    results = run_load(cfg);
  } catch (const ConfigError& e) {
    std::cerr << "faultline load: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::system_error& e) {
    // Typically std::thread refusing to start (no memory for its stack, a thread limit): a
    // resource the command line asked for and the system does not have.
    std::cerr << "faultline load: cannot start the load generator's threads or sockets: "
              << e.what() << " (fewer --threads/--connections?)\n";
    return kExitUsage;
  } catch (const std::bad_alloc&) {
    std::cerr << "faultline load: out of memory setting up " << cfg.threads << " threads and "
              << cfg.connections << " connections (fewer --threads/--connections?)\n";
    return kExitUsage;
  }

  bool all_ok = true;
  std::vector<json> report;
  for (const auto& t : thresholds) {
    auto v = threshold_value(t, results);
    const bool ok = v && threshold_holds(t, *v);
    all_ok = all_ok && ok;
    report.push_back({{"expr", t.expr}, {"value", v ? json(*v) : json(nullptr)}, {"ok", ok}});
  }
  results["thresholds"] = report;
  if (out.is_open()) out << results.dump() << '\n';
  if (a.out == "-") std::cout << results.dump() << std::endl;
  print_summary(results, report);
  // Closed and max models send every iteration they start: nothing is ever unsent there.
  const ScheduleCounts schedule = results.contains("schedule")
                                      ? ScheduleCounts::from_json(results["schedule"])
                                      : ScheduleCounts{};
  const double unsent_limit = kMaxUnsentRatio * static_cast<double>(schedule.offered);
  if (static_cast<double>(schedule.never_sent()) > unsent_limit) {
    std::cerr << "faultline load: " << schedule.never_sent() << " of " << schedule.offered
              << " scheduled requests were never sent, more than " << kMaxUnsentRatio * 100 << "%"
              << (a.allow_unsent ? " (taken: --allow-unsent)\n"
                                 : ": the run fails (exit 1; --allow-unsent takes it)\n");
    if (!a.allow_unsent) all_ok = false;
  }
  return all_ok ? kExitOk : kExitFailed;
}

struct MergeArgs {
  std::vector<std::string> files;      // results JSON files
  std::vector<std::string> intervals;  // --intervals: interval streams
  std::string intervals_out;
};

int run_merge(const MergeArgs& a) {
  auto usage = [](const char* message) {
    std::cerr << "faultline report merge: " << message << "\n";
    return kExitUsage;
  };
  if (a.files.empty() && a.intervals.empty())
    return usage("give results files, --intervals files, or both");
  if (!a.intervals.empty() && a.intervals_out.empty())
    return usage("--intervals needs --intervals-out PATH ('-' = stdout)");
  if (a.intervals.empty() && !a.intervals_out.empty())
    return usage("--intervals-out needs --intervals FILE...");
  if (!a.files.empty() && a.intervals_out == "-")
    return usage("stdout takes the merged results; give --intervals-out a path");
  // The output must not be one of the inputs: it is truncated before they are read.
  for (const auto& in : a.intervals) {
    std::error_code ec;
    const bool same =
        a.intervals_out != "-" && (std::filesystem::weakly_canonical(in, ec) ==
                                       std::filesystem::weakly_canonical(a.intervals_out, ec) ||
                                   std::filesystem::equivalent(in, a.intervals_out, ec));
    if (same) {
      std::cerr << "faultline report merge: --intervals-out " << a.intervals_out
                << " is one of the inputs (" << in << "); it would be overwritten\n";
      return kExitUsage;
    }
  }
  try {
    if (!a.intervals.empty()) {
      const auto lines = merge_interval_files(a.intervals, a.intervals_out);
      if (a.intervals_out != "-")
        std::cerr << "faultline report merge: " << lines << " seconds of " << a.intervals.size()
                  << " interval streams merged into " << a.intervals_out << "\n";
    }
    if (!a.files.empty()) {
      std::vector<json> docs;
      for (const auto& f : a.files)
        docs.push_back(load_json_file(f));
      std::cout << merge_results(docs, a.files).dump() << std::endl;
    }
  } catch (const ConfigError& e) {
    std::cerr << "faultline report merge: " << e.what() << "\n";
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace

void register_commands(CommandRegistry& registry) {
  auto args = std::make_shared<LoadArgs>();
  CLI::App* load = registry.add(
      "load",
      "Generate HTTP load (open model with --rate, closed with --users, else max throughput) and "
      "measure coordinated-omission-corrected latency",
      [args] { return run_load_command(*args); });
  load->add_option("url", args->url,
                   "Target URL: http://HOST:PORT/path, https://..., or ws:// / wss:// (WebSocket "
                   "sessions)");
  load->add_option("--workload", args->workload,
                   "Workload JSON file (mix of requests, flows, "
                   "generators)");
  args->options.add_to(*load);
  load->add_option("--threads,-t", args->threads, "Event-loop threads (default: cores)");
  load->add_option("--think-time", args->think_time,
                   "Closed model: pause MIN[:MAX] between "
                   "iterations");
  load->add_option("--threshold", args->thresholds,
                   "Pass/fail check, repeatable: 'p99<200ms', 'error_ratio<0.01' (unsent "
                   "arrivals count as errors), 'unsent_ratio<0.01', 'late_ratio<0.1', "
                   "'NAME:p90<=50ms'");
  load->add_option("--out", args->out, "Write the results JSON here ('-' = stdout)");
  load->add_option("--intervals-out", args->intervals_out, "Write one JSON line per second here");
  load->add_option("--intervals-roll", args->intervals_roll,
                   "Roll --intervals-out into PATH.NNNN.gz segments this often (0 = never)")
      ->capture_default_str();
  load->add_option("--metrics-listen", args->metrics_listen,
                   "Serve Prometheus metrics on HOST:PORT (prints 'listening on')");
  load->add_option("--shard", args->shard, "I/N: run shard I of N (share of rate/users, own seed)");
  load->add_option("--replay", args->replay, "Replay a faultline proxy recording (JSON lines)");
  load->add_option("--har", args->har, "Replay an HTTP Archive 1.2 file");
  load->add_option("--speed", args->speed, "Replay time scale (2 = twice as fast)")
      ->capture_default_str();
  load->add_flag("--insecure", args->insecure, "https: skip certificate verification");
  load->add_option("--cacert", args->cacert,
                   "https: verify the server against this CA (PEM) instead of the system store");
  load->add_option("--method", args->method, "Method of the single request (no --workload)")
      ->capture_default_str();
  load->add_option("--body", args->body, "Body of the single request (no --workload)");
  args->sessions.add_to(*load);
  load->add_flag("--quiet,-q", args->quiet, "No progress line on stderr");
  load->add_flag("--allow-unsent", args->allow_unsent,
                 "Exit 0 even when more than 1% of the scheduled requests were never sent "
                 "(default: exit 1)");
  args->start_at_opt =
      load->add_option("--start-at", args->start_at,
                       "Second 0 begins at this wall-clock time: UNIX_SECONDS or +DURATION (shards "
                       "given the same time line up)");
  load->add_option("--push-gateway", args->push.url,
                   "Push faultline_load_* every second to this Prometheus Pushgateway "
                   "(http://HOST:PORT), grouped by job and shard");
  load->add_option("--push-job", args->push.job, "Pushgateway job name")->capture_default_str();
  load->add_flag("--push-keep", args->push.keep,
                 "Leave the shard's group in the Pushgateway after the run (default: delete it)");

  CLI::App* report = registry.add("report", "Work with results files", nullptr);
  report->require_subcommand(1);
  auto margs = std::make_shared<MergeArgs>();
  CLI::App* merge = registry.add(report, "merge",
                                 "Merge faultline load results (e.g. of --shard runs) losslessly "
                                 "(JSON on stdout), and/or their interval streams second by second",
                                 [margs] { return run_merge(*margs); });
  merge->add_option("files", margs->files, "Results JSON files (--out of each shard)");
  merge
      ->add_option("--intervals", margs->intervals,
                   "Interval streams (--intervals-out of each shard, rolled segments included) "
                   "to merge second by second")
      ->expected(1, -1);
  merge->add_option("--intervals-out", margs->intervals_out,
                    "Write the merged interval stream here ('-' = stdout)");
}

}  // namespace faultline::loadgen
