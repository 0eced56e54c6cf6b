// `faultline run`, step 1: start what the scenario names and wait until each is ready (see
// run_steps.hpp). Children report readiness with common/ready_line.hpp's lines.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/ready_line.hpp"
#include "common/tls_certgen.hpp"
#include "runner/run_steps.hpp"

namespace faultline::runner::run_detail {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string seconds_arg(double s) {
  return format_duration(
      std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(s * 1e9))));
}

// Whether the load's default URL (the target, or the proxy it goes through) speaks TLS: a proxy
// terminating TLS, or a tcp proxy passing the TLS of a "tls": true target through untouched.
bool load_speaks_tls(const Scenario& s) {
  if (s.load.via.empty()) return s.target.tls;
  const ProxySpec* p = s.proxy(s.load.via);
  if (!p) return false;
  if (p->extra.contains("tls")) return true;
  return p->protocol == "tcp" && p->upstream_kind == ProxySpec::Upstream::target && s.target.tls &&
         !p->extra.contains("upstream_tls");
}

bool tcp_connectable(unsigned short port) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  error_code ec;
  s.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port), ec);
  return !ec;
}

}  // namespace

// Waits up to `timeout` for a line of the child's stdout that contains `marker` (nullopt when none
// came); throws RunError naming the component if the child exits first, Interrupted when stopped.
std::optional<std::string> Orchestrator::wait_child_line(Subprocess& p, std::string_view marker,
                                                         const std::string& component,
                                                         const std::string& log,
                                                         std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    check_stop();
    if (auto line = p.wait_for_line(std::string(marker), 200ms)) return line;
    if (!p.running())
      throw RunError(fmt::format("{} exited during start-up with status {} (see {})", component,
                                 p.wait(0ms), log));
  }
  return std::nullopt;
}

// `faultline load --metrics-listen` prints "started at UNIX_SECONDS" once its clock is set: the
// instant its first interval begins. Converted to this process's steady clock (same machine, so
// the wall clocks agree; the conversion error is microseconds).
std::optional<Clock::time_point> Orchestrator::wait_load_start(Subprocess& p,
                                                               const std::string& log) {
  if (auto line = wait_child_line(p, ready_line::kStartedAt, "load", log, 20s)) {
    if (auto unix_seconds = ready_line::parse_started_at(*line)) {
      const auto ahead = std::chrono::duration<double>(*unix_seconds) -
                         std::chrono::system_clock::now().time_since_epoch();
      return Clock::now() + std::chrono::duration_cast<Clock::duration>(ahead);
    }
  }
  spdlog::warn(
      "run: the load generator did not report its start time; phase boundaries may be "
      "off by the start-up delay");
  return std::nullopt;
}

// Waits for a child's "listening on HOST:PORT" line; throws RunError naming the component.
HostPort Orchestrator::wait_listening(Subprocess& p, const std::string& component,
                                      const std::string& log) {
  constexpr auto timeout = 20s;
  if (auto line = wait_child_line(p, ready_line::kListening, component, log, timeout)) {
    if (auto hp = ready_line::parse_listening(*line)) return *hp;
    throw RunError(fmt::format("{}: cannot parse its address from \"{}\"", component, *line));
  }
  throw RunError(fmt::format("{} did not report \"listening on\" within {}s (see {})", component,
                             std::chrono::seconds(timeout).count(), log));
}

void Orchestrator::start(RunInfo& info) {
  fs::create_directories(fs::path(o_.out_dir) / "logs");
  reused_ = o_.keep_system && o_.keep_system->holds() && adopt_kept_system();
  if (!reused_) start_system();
  if (sys_.target_addr) info.endpoints["target"] = sys_.target_addr->to_string();
  if (sys_.proxy_api) info.endpoints["proxy"] = sys_.proxy_api->to_string();
  for (const auto& [n, hp] : sys_.proxy_listen)
    info.endpoints["proxy:" + n] = hp.to_string();
  for (const auto& p : s_.processes)
    if (!p.metrics.empty()) info.endpoints["process:" + p.name] = p.metrics_address.to_string();

  // Prometheus before the load, so the first phase is scraped from its start; it scrapes the load
  // on a port fixed in advance.
  if (s_.prometheus) {
    if (s_.load.enabled)
      for (std::int64_t i = 0; i < s_.load.shards; ++i)
        load_metrics_ports_.push_back(free_loopback_port());
    start_prometheus();
    info.endpoints["prometheus"] = prometheus_->address().to_string();
  }
  // The timeline's clock starts when the load does (the interval lines count from there too).
  start_load();
  clock_.t0 = load_t0_.value_or(Clock::now());
  t0_unix_ =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() -
      clock_.offset(Clock::now());
  if (!load_metrics_.empty()) info.endpoints["load"] = load_metrics_.front().to_string();
  write_prometheus_sd();
}

void Orchestrator::start_system() {
  if (o_.keep_system) {
    o_.keep_system->stop();  // what is left of a system that is not running whole
    ++o_.keep_system->starts_;
    sys_.log_dir = o_.keep_system->log_dir();
    fs::create_directories(sys_.log_dir);
  }
  write_run_pki();
  start_redis();
  start_proxy_process();
  for (const auto& item : s_.start_order) {
    check_stop();
    switch (item.kind) {
      case StartItem::Kind::target:
        start_target();
        break;
      case StartItem::Kind::proxy:
        create_proxy(*s_.proxy(item.name), upstream_of(*s_.proxy(item.name)));
        break;
      case StartItem::Kind::process:
        start_process(*s_.process(item.name));
        break;
    }
  }
}

// A system kept by an earlier run of the same scenario (KeptSystem): still whole, its process specs
// pointed at this run's scenario, and its proxies set back to the scenario's initial state.
bool Orchestrator::adopt_kept_system() {
  sys_ = std::move(*o_.keep_system->sys_);
  o_.keep_system->sys_.reset();
  for (auto& [name, p] : sys_.procs)
    p.spec = s_.process(name);
  // A component that died after the last run's last check, or a proxy that cannot be reset: this
  // run starts a new system rather than failing for what happened before it.
  std::string why = sys_.not_running();
  if (why.empty()) {
    try {
      reset_proxies();
    } catch (const RunError& e) {
      why = e.what();
    }
  }
  if (!why.empty()) {
    spdlog::warn("run: the kept system is not usable ({}); starting a new one", why);
    sys_.stop();
    return false;
  }
  spdlog::info("run: reusing the running system (target {}, proxy API {})",
               sys_.target_addr ? sys_.target_addr->to_string() : "-",
               sys_.proxy_api ? sys_.proxy_api->to_string() : "-");
  return true;
}

void Orchestrator::reset_proxies() {
  for (const auto& p : s_.proxies) {
    check_stop();
    const std::string base = "/proxies/" + p.name;
    auto must = [&](const Fetched& f, const std::string& what) {
      if (!f.ok) throw RunError(fmt::format("proxy: {} {} failed: {}", what, p.name, f.error));
    };
    must(api("POST", base, R"({"enabled": true})"), "enabling");
    Fetched list = api("GET", base + "/toxics");
    must(list, "listing the toxics of");
    const json toxics = json::parse(list.body, nullptr, false);
    if (!toxics.is_array())
      throw RunError(
          fmt::format("proxy: the toxics of {} are not a JSON array: {}", p.name, list.body));
    for (const auto& t : toxics)
      if (t.is_object() && t.contains("name") && t["name"].is_string())
        must(api("DELETE", base + "/toxics/" + t["name"].get<std::string>()),
             "removing a toxic of");
    for (const auto& t : p.toxics)
      must(api("POST", base + "/toxics", t.dump()), "adding toxic " + t.dump() + " to");
  }
}

std::string Orchestrator::upstream_of(const ProxySpec& p) const {
  switch (p.upstream_kind) {
    case ProxySpec::Upstream::redis_shard:
      return fmt::format("127.0.0.1:{}", sys_.redis_ports[static_cast<std::size_t>(p.shard)]);
    case ProxySpec::Upstream::target:
      return sys_.target_addr->to_string();
    case ProxySpec::Upstream::address:
      break;
  }
  return p.address;
}

std::vector<std::string> Orchestrator::redis_argv(std::size_t shard) const {
  return {*find_program("redis-server"),
          "--port",
          std::to_string(sys_.redis_ports[shard]),
          "--bind",
          "127.0.0.1",
          "--save",
          "",
          "--appendonly",
          "no",
          "--logfile",
          system_log_file(fmt::format("redis-{}", shard))};
}

void Orchestrator::wait_redis(std::size_t i) {
  const auto deadline = Clock::now() + 10s;
  while (!tcp_connectable(sys_.redis_ports[i])) {
    check_stop();
    if (!sys_.redis[i].running())
      throw RunError(fmt::format("redis shard {} exited during start-up (see {})", i,
                                 system_log_file(fmt::format("redis-{}", i))));
    if (Clock::now() > deadline)
      throw RunError(fmt::format("redis shard {} did not accept connections on port {} within 10s",
                                 i, sys_.redis_ports[i]));
    sleep_until(Clock::now() + 20ms);
  }
}

void Orchestrator::start_redis() {
  if (s_.redis_shards > 0 && !find_program("redis-server"))
    throw RunError("redis: redis-server is not installed (services.redis.shards needs it)");
  for (std::size_t i = 0; i < static_cast<std::size_t>(s_.redis_shards); ++i) {
    sys_.redis_ports.push_back(i < s_.redis_ports.size() ? s_.redis_ports[i]
                                                         : free_loopback_port());
    sys_.redis.emplace_back(redis_argv(i), system_log_file(fmt::format("redis-{}", i)));
  }
  for (std::size_t i = 0; i < sys_.redis.size(); ++i) {
    wait_redis(i);
    spdlog::info("run: redis shard {} on 127.0.0.1:{}", i, sys_.redis_ports[i]);
  }
}

Fetched Orchestrator::api(const std::string& method, const std::string& target,
                          const std::string& body) {
  return fetch(*sys_.proxy_api, method, target, body, 5000ms, o_.api_token);
}

void Orchestrator::start_proxy_process() {
  sys_.api_token = o_.api_token;
  sys_.attached_api = s_.proxy_api;
  if (!s_.proxy_api.empty()) {
    // Attach: drive a proxy that is already running (a sidecar, or a Toxiproxy server).
    sys_.proxy_api = parse_host_port(s_.proxy_api);
    Fetched f = api("GET", "/proxies");
    if (!f.ok)
      throw RunError(fmt::format("services.proxy_api http://{}: not usable: {}", s_.proxy_api,
                                 f.error.empty() ? "no answer" : f.error));
    spdlog::info("run: attached to the proxy API on {}", s_.proxy_api);
    return;
  }
  if (s_.proxies.empty()) return;
  const std::string log = system_log_file("proxy");
  std::vector<std::string> argv{o_.faultline_exe, "proxy", "--api", "127.0.0.1:0"};
  if (!o_.api_token.empty()) {
    argv.push_back("--api-token");
    argv.push_back(o_.api_token);
  }
  sys_.proxy.emplace(argv, log);
  sys_.proxy_api = wait_listening(*sys_.proxy, "proxy", log);
  spdlog::info("run: proxy API on {}", sys_.proxy_api->to_string());
}

void Orchestrator::create_proxy(const ProxySpec& p, const std::string& upstream) {
  json body = p.extra;
  body["name"] = p.name;
  body["listen"] = p.listen.empty() ? "127.0.0.1:0" : p.listen;
  body["upstream"] = upstream;
  body["protocol"] = p.protocol;
  Fetched f = api("POST", "/proxies", body.dump());
  if (!f.ok) {
    if (f.status == 409 && !s_.proxy_api.empty())
      throw RunError(
          fmt::format("proxy: a proxy named {} already exists on the attached API {} "
                      "(remove it, or rename the scenario's proxy)",
                      p.name, s_.proxy_api));
    throw RunError(fmt::format("proxy: creating proxy {} failed: {}", p.name, f.error));
  }
  if (!s_.proxy_api.empty()) sys_.attached_created.push_back(p.name);
  json res = json::parse(f.body, nullptr, false);
  std::optional<HostPort> listen;
  if (res.is_object() && res.contains("listen") && res["listen"].is_string())
    listen = parse_host_port(res["listen"].get<std::string>());
  if (!listen || listen->port == 0)
    throw RunError(
        fmt::format("proxy: creating proxy {} returned no bound address: {}", p.name, f.body));
  sys_.proxy_listen[p.name] = *listen;
  for (const auto& t : p.toxics) {
    Fetched ft = api("POST", "/proxies/" + p.name + "/toxics", t.dump());
    if (!ft.ok)
      throw RunError(
          fmt::format("proxy: adding toxic {} to {} failed: {}", t.dump(), p.name, ft.error));
  }
  spdlog::info("run: proxy {} ({}) on {} -> {}", p.name, p.protocol, listen->to_string(), upstream);
}

std::vector<std::string> Orchestrator::target_argv() const {
  std::string store = s_.target.store;
  if (store == "file") {
    store = "file:" + (fs::path(o_.out_dir) / "target-data").string();
  } else if (store == "redis") {
    store.clear();
    for (int i = 0; i < s_.redis_shards; ++i) {
      std::string addr = fmt::format("127.0.0.1:{}", sys_.redis_ports[static_cast<std::size_t>(i)]);
      for (const auto& p : s_.proxies)
        if (p.upstream_kind == ProxySpec::Upstream::redis_shard && p.shard == i)
          addr = sys_.proxy_listen.at(p.name).to_string();
      // Appended piece by piece: `"," + std::string(...)` trips GCC 12's -Wrestrict false
      // positive (PR105651) once inlined here.
      if (!store.empty()) store += ',';
      store += "redis://";
      store += addr;
    }
  }
  std::vector<std::string> argv{
      o_.faultline_exe, "target",
      "--listen",       s_.target.listen.empty() ? "127.0.0.1:0" : s_.target.listen,
      "--store",        store,
      "--mode",         s_.target.mode};
  auto add = [&](const char* flag, const std::optional<std::int64_t>& v) {
    if (v) {
      argv.push_back(flag);
      argv.push_back(std::to_string(*v));
    }
  };
  add("--threads", s_.target.threads);
  add("--solver-threads", s_.target.solver_threads);
  add("--solver-queue", s_.target.solver_queue);
  if (s_.target.debug_leak_bytes_per_request > 0)
    add("--debug-leak-bytes-per-request", s_.target.debug_leak_bytes_per_request);
  if (s_.target.tls) {
    argv.insert(argv.end(), {"--tls-cert", s_.placeholder_values.at("tls.cert"), "--tls-key",
                             s_.placeholder_values.at("tls.key")});
  }
  argv.insert(argv.end(), s_.target.args.begin(), s_.target.args.end());
  return argv;
}

void Orchestrator::write_run_pki() {
  if (!s_.run_pki) return;
  const fs::path dir = fs::path(s_.placeholder_values.at("tls.ca")).parent_path();
  const auto pki = tls::write_throwaway_pki(dir);
  if (!pki.error.empty()) throw RunError(fmt::format("tls: {}", pki.error));
  tls::ClientConfig trust;
  trust.ca = pki.files.ca_cert.string();
  auto made = tls::make_client_context(trust);
  if (!made.ok()) throw RunError(fmt::format("tls: {}", made.message()));
  if (s_.target.tls) sys_.target_tls = made.context;
  spdlog::info("run: throw-away TLS certificates in {}", dir.string());
}

void Orchestrator::start_target() {
  if (!s_.target.enabled) return;
  if (s_.target.store == "file") {
    const fs::path dir = fs::path(o_.out_dir) / "target-data";
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  const std::string log = system_log_file("target");
  sys_.target.emplace(target_argv(), log);
  sys_.target_addr = wait_listening(*sys_.target, "target", log);
  spdlog::info("run: target ({}, {}) on {}", s_.target.mode, s_.target.store,
               sys_.target_addr->to_string());
}

std::vector<std::string> Orchestrator::load_argv(const std::string& url,
                                                 const std::string& workload,
                                                 std::size_t shard) const {
  const bool sharded = s_.load.shards > 1;
  const unsigned short metrics_port =
      shard < load_metrics_ports_.size() ? load_metrics_ports_[shard] : 0;
  std::vector<std::string> argv{o_.faultline_exe,
                                "load",
                                url,
                                "--workload",
                                workload,
                                "--duration",
                                seconds_arg(s_.duration_seconds),
                                "--out",
                                sharded ? shard_results_path(o_.out_dir, shard) : load_out_,
                                "--intervals-out",
                                sharded ? shard_intervals_path(o_.out_dir, shard) : intervals_path_,
                                "--metrics-listen",
                                fmt::format("127.0.0.1:{}", metrics_port),
                                "--seed",
                                std::to_string(s_.load.seed)};
  if (sharded) {
    argv.push_back("--shard");
    argv.push_back(fmt::format("{}/{}", shard, s_.load.shards));
  }
  if (s_.load.rate) {
    argv.push_back("--rate");
    argv.push_back(fmt::format("{}", *s_.load.rate));
  }
  if (s_.load.users) {
    argv.push_back("--users");
    argv.push_back(std::to_string(*s_.load.users));
  }
  if (s_.load.stages) {
    argv.push_back("--stages");
    argv.push_back(*s_.load.stages);
  }
  if (s_.load.connections) {
    argv.push_back("--connections");
    argv.push_back(std::to_string(*s_.load.connections));
  }
  if (s_.load.timeout) {
    argv.push_back("--timeout");
    argv.push_back(*s_.load.timeout);
  }
  argv.insert(argv.end(), s_.load.args.begin(), s_.load.args.end());
  // https to a certificate of the run's PKI: trusted through its CA, unless the scenario's load
  // args already say how to verify.
  const auto given = [&](const std::string& flag) {  // "--flag VALUE" or "--flag=VALUE"
    return std::any_of(s_.load.args.begin(), s_.load.args.end(), [&](const std::string& a) {
      return a == flag || a.rfind(flag + "=", 0) == 0;
    });
  };
  if (s_.run_pki && url.rfind("https://", 0) == 0 && !given("--cacert") && !given("--insecure")) {
    argv.push_back("--cacert");
    argv.push_back(s_.placeholder_values.at("tls.ca"));
  }
  return argv;
}

bool Orchestrator::load_running() {
  for (auto& l : loads_)
    if (l.running()) return true;
  return false;
}

void Orchestrator::start_load() {
  if (!s_.load.enabled) return;
  std::string workload = s_.load.workload_file;
  if (workload.empty()) {
    workload = (fs::path(o_.out_dir) / "workload.json").string();
    std::ofstream(workload) << s_.load.workload_inline.dump(2) << "\n";
  }
  std::string url;
  if (!s_.load.url.empty())
    url = s_.load.url;
  else
    url = fmt::format(
        "{}://{}", load_speaks_tls(s_) ? "https" : "http",
        (s_.load.via.empty() ? *sys_.target_addr : sys_.proxy_listen.at(s_.load.via)).to_string());
  intervals_path_ = (fs::path(o_.out_dir) / "load-intervals.jsonl").string();
  load_out_ = (fs::path(o_.out_dir) / "load-results.json").string();
  fs::remove(intervals_path_);
  const auto shards = static_cast<std::size_t>(s_.load.shards);
  // Shards: one second 0 for all (--start-at), far enough ahead that the last one is up by then
  // (each takes ~50-200 ms to start on a loaded machine), so their seconds merge one to one.
  std::string start_at;
  if (shards > 1) {
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    start_at = fmt::format("{:.6f}", now + 1.0 + 0.25 * static_cast<double>(shards));
  }
  std::vector<std::string> tails;
  // Every shard is started before any is waited for, so the last one is not late for --start-at
  // by the sum of the others' start-up times (found in review).
  for (std::size_t i = 0; i < shards; ++i) {
    std::vector<std::string> argv = load_argv(url, workload, i);
    if (shards > 1) {
      argv.push_back("--start-at");
      argv.push_back(start_at);
      fs::remove(shard_intervals_path(o_.out_dir, i));
    }
    tails.push_back(shards > 1 ? shard_intervals_path(o_.out_dir, i) : intervals_path_);
    loads_.emplace_back(argv, log_file(shards > 1 ? fmt::format("load-{}", i) : "load"));
  }
  for (std::size_t i = 0; i < shards; ++i) {
    const std::string name = shards > 1 ? fmt::format("load-{}", i) : "load";
    load_metrics_.push_back(wait_listening(loads_[i], name, log_file(name)));
  }
  // Every shard's second 0 is the same instant: shard 0's "started at" line gives it.
  load_t0_ = wait_load_start(loads_[0], log_file(shards > 1 ? "load-0" : "load"));
  tail_ = std::make_unique<LoadIntervals>(tails, intervals_path_);
  spdlog::info("run: load -> {} ({} process{}, metrics on {})", url, shards, shards > 1 ? "es" : "",
               load_metrics_.front().to_string());
}

void Orchestrator::write_prometheus_sd() {
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
  add("target", sys_.target_addr);
  add("proxy", sys_.proxy_api);
  if (!load_metrics_.empty()) add("load", load_metrics_.front());
  const std::string tmp = o_.prometheus_sd + ".tmp";
  {
    std::ofstream out(tmp);
    out << list.dump(2) << "\n";
    if (!out) throw RunError("cannot write --prometheus-sd file " + o_.prometheus_sd);
  }
  fs::rename(tmp, o_.prometheus_sd);  // atomic: Prometheus never reads half a file
}

}  // namespace faultline::runner::run_detail
