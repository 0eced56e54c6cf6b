// `faultline run`, step 1: start what the scenario names and wait until each is ready (see
// run_steps.hpp). Children report readiness with common/ready_line.hpp's lines.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/ready_line.hpp"
#include "runner/run_steps.hpp"

namespace faultline::runner::run_detail {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string seconds_arg(double s) {
  return format_duration(
      std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(s * 1e9))));
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
  start_redis();
  start_proxy_process();
  for (const auto& p : s_.proxies)
    if (p.upstream_kind == ProxySpec::Upstream::redis_shard)
      create_proxy(p, fmt::format("127.0.0.1:{}", redis_ports_[static_cast<std::size_t>(p.shard)]));
    else if (p.upstream_kind == ProxySpec::Upstream::address)
      create_proxy(p, p.address);
  start_target();
  for (const auto& p : s_.proxies)
    if (p.upstream_kind == ProxySpec::Upstream::target) create_proxy(p, target_addr_->to_string());
  if (target_addr_) info.endpoints["target"] = target_addr_->to_string();
  if (proxy_api_) info.endpoints["proxy"] = proxy_api_->to_string();
  for (const auto& [n, hp] : proxy_listen_)
    info.endpoints["proxy:" + n] = hp.to_string();

  // The timeline's clock starts when the load does (the interval lines count from there too).
  start_load();
  clock_.t0 = load_t0_.value_or(Clock::now());
  if (load_metrics_) info.endpoints["load"] = load_metrics_->to_string();
  write_prometheus_sd();
}

void Orchestrator::start_redis() {
  const auto redis = find_program("redis-server");
  if (s_.redis_shards > 0 && !redis)
    throw RunError("redis: redis-server is not installed (services.redis.shards needs it)");
  for (int i = 0; i < s_.redis_shards; ++i) {
    const unsigned short port = free_loopback_port();
    const std::string log = log_file(fmt::format("redis-{}", i));
    redis_.emplace_back(
        std::vector<std::string>{*redis, "--port", std::to_string(port), "--bind", "127.0.0.1",
                                 "--save", "", "--appendonly", "no", "--logfile", log},
        log);
    redis_ports_.push_back(port);
  }
  for (int i = 0; i < s_.redis_shards; ++i) {
    const auto deadline = Clock::now() + 10s;
    while (!tcp_connectable(redis_ports_[static_cast<std::size_t>(i)])) {
      check_stop();
      if (!redis_[static_cast<std::size_t>(i)].running())
        throw RunError(fmt::format("redis shard {} exited during start-up (see {})", i,
                                   log_file(fmt::format("redis-{}", i))));
      if (Clock::now() > deadline)
        throw RunError(
            fmt::format("redis shard {} did not accept connections on port {} within "
                        "10s",
                        i, redis_ports_[static_cast<std::size_t>(i)]));
      sleep_until(Clock::now() + 20ms);
    }
    spdlog::info("run: redis shard {} on 127.0.0.1:{}", i,
                 redis_ports_[static_cast<std::size_t>(i)]);
  }
}

void Orchestrator::start_proxy_process() {
  if (s_.proxies.empty()) return;
  const std::string log = log_file("proxy");
  proxy_.emplace(std::vector<std::string>{o_.faultline_exe, "proxy", "--api", "127.0.0.1:0"}, log);
  proxy_api_ = wait_listening(*proxy_, "proxy", log);
  spdlog::info("run: proxy API on {}", proxy_api_->to_string());
}

void Orchestrator::create_proxy(const ProxySpec& p, const std::string& upstream) {
  json body = p.extra;
  body["name"] = p.name;
  body["listen"] = "127.0.0.1:0";
  body["upstream"] = upstream;
  body["protocol"] = p.protocol;
  Fetched f = fetch(*proxy_api_, "POST", "/proxies", body.dump());
  if (!f.ok) throw RunError(fmt::format("proxy: creating proxy {} failed: {}", p.name, f.error));
  json res = json::parse(f.body, nullptr, false);
  std::optional<HostPort> listen;
  if (res.is_object() && res.contains("listen") && res["listen"].is_string())
    listen = parse_host_port(res["listen"].get<std::string>());
  if (!listen || listen->port == 0)
    throw RunError(
        fmt::format("proxy: creating proxy {} returned no bound address: {}", p.name, f.body));
  proxy_listen_[p.name] = *listen;
  for (const auto& t : p.toxics) {
    Fetched ft = fetch(*proxy_api_, "POST", "/proxies/" + p.name + "/toxics", t.dump());
    if (!ft.ok)
      throw RunError(
          fmt::format("proxy: adding toxic {} to {} failed: {}", t.dump(), p.name, ft.error));
  }
  spdlog::info("run: proxy {} ({}) on {} -> {}", p.name, p.protocol, listen->to_string(), upstream);
}

void Orchestrator::start_target() {
  if (!s_.target.enabled) return;
  std::string store = s_.target.store;
  if (store == "file") {
    const fs::path dir = fs::path(o_.out_dir) / "target-data";
    fs::remove_all(dir);
    fs::create_directories(dir);
    store = "file:" + dir.string();
  } else if (store == "redis") {
    store.clear();
    for (int i = 0; i < s_.redis_shards; ++i) {
      std::string addr = fmt::format("127.0.0.1:{}", redis_ports_[static_cast<std::size_t>(i)]);
      for (const auto& p : s_.proxies)
        if (p.upstream_kind == ProxySpec::Upstream::redis_shard && p.shard == i)
          addr = proxy_listen_.at(p.name).to_string();
      // Appended piece by piece: `"," + std::string(...)` trips GCC 12's -Wrestrict false
      // positive (PR105651) once inlined here.
      if (!store.empty()) store += ',';
      store += "redis://";
      store += addr;
    }
  }
  std::vector<std::string> argv{o_.faultline_exe, "target", "--listen", "127.0.0.1:0",
                                "--store",        store,    "--mode",   s_.target.mode};
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
  argv.insert(argv.end(), s_.target.args.begin(), s_.target.args.end());
  const std::string log = log_file("target");
  target_.emplace(argv, log);
  target_addr_ = wait_listening(*target_, "target", log);
  spdlog::info("run: target ({}, {}) on {}", s_.target.mode, store, target_addr_->to_string());
}

void Orchestrator::start_load() {
  if (!s_.load.enabled) return;
  std::string workload = s_.load.workload_file;
  if (workload.empty()) {
    workload = (fs::path(o_.out_dir) / "workload.json").string();
    std::ofstream(workload) << s_.load.workload_inline.dump(2) << "\n";
  }
  const HostPort dest = s_.load.via.empty() ? *target_addr_ : proxy_listen_.at(s_.load.via);
  intervals_path_ = (fs::path(o_.out_dir) / "load-intervals.jsonl").string();
  load_out_ = (fs::path(o_.out_dir) / "load-results.json").string();
  fs::remove(intervals_path_);
  std::vector<std::string> argv{o_.faultline_exe,
                                "load",
                                "http://" + dest.to_string(),
                                "--workload",
                                workload,
                                "--duration",
                                seconds_arg(s_.duration_seconds),
                                "--out",
                                load_out_,
                                "--intervals-out",
                                intervals_path_,
                                "--metrics-listen",
                                "127.0.0.1:0",
                                "--seed",
                                std::to_string(s_.load.seed)};
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
  const std::string log = log_file("load");
  load_.emplace(argv, log);
  load_metrics_ = wait_listening(*load_, "load", log);
  load_t0_ = wait_load_start(*load_, log);
  tail_ = std::make_unique<LineTail>(intervals_path_);
  spdlog::info("run: load -> http://{} (metrics on {})", dest.to_string(),
               load_metrics_->to_string());
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
  add("target", target_addr_);
  add("proxy", proxy_api_);
  add("load", load_metrics_);
  const std::string tmp = o_.prometheus_sd + ".tmp";
  {
    std::ofstream out(tmp);
    out << list.dump(2) << "\n";
    if (!out) throw RunError("cannot write --prometheus-sd file " + o_.prometheus_sd);
  }
  fs::rename(tmp, o_.prometheus_sd);  // atomic: Prometheus never reads half a file
}

}  // namespace faultline::runner::run_detail
