// The scenario orchestrator (see orchestrator.hpp).
#include "runner/orchestrator.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/cli.hpp"
#include "common/http_client.hpp"
#include "common/subprocess.hpp"
#include "runner/collector.hpp"
#include "runner/report/report.hpp"
#include "runner/results.hpp"

namespace faultline::runner {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::atomic<bool>& stop_requested() {
  static std::atomic<bool> flag{false};
  return flag;
}

namespace {

extern "C" void on_stop_signal(int) {
  stop_requested().store(true);
}

// Installs the SIGINT/SIGTERM handler for the duration of a run (restored afterwards).
class SignalGuard {
 public:
  SignalGuard() {
    stop_requested().store(false);
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~SignalGuard() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// A setup or run failure that makes the verdict "error" (exit 2); the message names the component.
struct RunError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct Interrupted {};

void check_stop() {
  if (stop_requested().load()) throw Interrupted{};
}

// Sleeps until `t` in small steps so SIGINT is noticed promptly.
void sleep_until(Clock::time_point t) {
  while (Clock::now() < t) {
    check_stop();
    std::this_thread::sleep_for(std::min<Clock::duration>(t - Clock::now(), 50ms));
  }
}

std::string utc_now_iso() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string seconds_arg(double s) {
  return format_duration(
      std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(s * 1e9))));
}

// Waits up to `timeout` for a line of the child's stdout that contains `needle` (nullopt when none
// came); throws RunError naming the component if the child exits first or the run is stopped.
std::optional<std::string> wait_child_line(Subprocess& p, const std::string& needle,
                                           const std::string& component, const std::string& log,
                                           std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    check_stop();
    if (auto line = p.wait_for_line(needle, 200ms)) return line;
    if (!p.running())
      throw RunError(fmt::format("{} exited during start-up with status {} (see {})", component,
                                 p.wait(0ms), log));
  }
  return std::nullopt;
}

// `faultline load --metrics-listen` prints "started at UNIX_SECONDS" once its clock is set: the
// instant its first interval begins. Converted to this process's steady clock (same machine, so
// the wall clocks agree; the conversion error is microseconds).
std::optional<Clock::time_point> wait_load_start(Subprocess& p, const std::string& log) {
  const std::string needle = "started at ";
  if (auto line = wait_child_line(p, needle, "load", log, 20s)) {
    const double unix_seconds =
        std::strtod(line->c_str() + line->find(needle) + needle.size(), nullptr);
    if (unix_seconds > 0) {
      const auto ahead = std::chrono::duration<double>(unix_seconds) -
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
HostPort wait_listening(Subprocess& p, const std::string& component, const std::string& log,
                        std::chrono::milliseconds timeout = 20s) {
  const std::string needle = "listening on ";
  if (auto line = wait_child_line(p, needle, component, log, timeout)) {
    std::string addr = line->substr(line->find(needle) + needle.size());
    while (!addr.empty() && std::isspace(static_cast<unsigned char>(addr.back())))
      addr.pop_back();
    if (auto hp = parse_host_port(addr)) return *hp;
    throw RunError(fmt::format("{}: cannot parse its address from \"{}\"", component, *line));
  }
  throw RunError(fmt::format("{} did not report \"listening on\" within {}s (see {})", component,
                             std::chrono::duration_cast<std::chrono::seconds>(timeout).count(),
                             log));
}

bool tcp_connectable(unsigned short port) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  error_code ec;
  s.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port), ec);
  return !ec;
}

struct Fetched {
  bool ok = false;
  unsigned status = 0;
  std::string body;
  std::string error;
};

Fetched fetch(const HostPort& hp, const std::string& method, const std::string& target,
              const std::string& body = "", std::chrono::milliseconds timeout = 5000ms) {
  HttpClientRequest req;
  req.method = method;
  req.target = target;
  req.body = body;
  req.timeout = timeout;
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  auto [ec, res] = http_fetch_sync(hp, std::move(req));
  Fetched f;
  if (ec) {
    f.error = ec.message();
    return f;
  }
  f.status = res.status;
  f.body = std::move(res.body);
  f.ok = res.status >= 200 && res.status < 300;
  if (!f.ok) f.error = fmt::format("HTTP {}: {}", res.status, f.body);
  return f;
}

std::optional<PromSnapshot> scrape(const std::optional<HostPort>& hp,
                                   std::chrono::milliseconds timeout = 1500ms) {
  if (!hp) return std::nullopt;
  Fetched f = fetch(*hp, "GET", "/metrics", "", timeout);
  if (!f.ok) return std::nullopt;
  return PromSnapshot::parse(f.body);
}

// Reads complete lines appended to a file since the last call.
class LineTail {
 public:
  explicit LineTail(std::string path) : path_(std::move(path)) {}
  ~LineTail() {
    if (fd_ >= 0) ::close(fd_);
  }
  LineTail(const LineTail&) = delete;
  LineTail& operator=(const LineTail&) = delete;
  std::vector<std::string> read() {
    std::vector<std::string> out;
    if (fd_ < 0) fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return out;
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      pending_.append(buf, static_cast<std::size_t>(n));
    }
    std::size_t start = 0, nl;
    while ((nl = pending_.find('\n', start)) != std::string::npos) {
      out.push_back(pending_.substr(start, nl - start));
      start = nl + 1;
    }
    pending_.erase(0, start);
    return out;
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::string pending_;
};

class Orchestrator {
 public:
  Orchestrator(const Scenario& s, const RunOptions& o) : s_(s), o_(o) {}
  ~Orchestrator() { teardown(); }
  Orchestrator(const Orchestrator&) = delete;
  Orchestrator& operator=(const Orchestrator&) = delete;

  int run();

 private:
  std::string log_file(const std::string& name) const {
    return (fs::path(o_.out_dir) / "logs" / (name + ".log")).string();
  }
  void start_redis();
  void start_proxy_process();
  void create_proxy(const ProxySpec& p, const std::string& upstream);
  void start_target();
  void start_load();
  void write_prometheus_sd();
  void execute(const Action& a);
  void scrape_boundary(std::size_t k, double at);
  void scraper_loop(std::stop_token st);
  void read_intervals();
  void check_components();
  void teardown();
  std::vector<PhaseWindow> windows() const;

  const Scenario& s_;
  const RunOptions& o_;
  std::vector<Subprocess> redis_;
  std::vector<unsigned short> redis_ports_;
  std::optional<Subprocess> proxy_, target_, load_;
  std::optional<HostPort> proxy_api_, target_addr_, load_metrics_;
  // When second 0 of the load generator's intervals began: the timeline counts from there, so a
  // phase boundary at a whole second falls exactly between two interval lines.
  std::optional<Clock::time_point> load_t0_;
  std::map<std::string, HostPort> proxy_listen_;
  std::string intervals_path_, load_out_;
  std::unique_ptr<Collector> collector_;
  std::unique_ptr<LineTail> tail_;
  TimelineClock clock_{};
  std::vector<TimelineRecord> timeline_log_;
  std::jthread scraper_;
  bool torn_down_ = false;
};

std::vector<PhaseWindow> Orchestrator::windows() const {
  std::vector<PhaseWindow> out;
  std::map<std::string, std::set<std::string>> active;  // proxy -> active toxics ("" = disabled)
  for (const auto& p : s_.proxies)
    for (const auto& t : p.toxics)
      active[p.name].insert(t.value("name", t.value("type", std::string()) + "_" +
                                                t.value("stream", std::string("downstream"))));
  for (const auto& e : s_.timeline) {
    for (const auto& a : e.actions) {
      switch (a.kind) {
        case Action::Kind::add_toxic:
          active[a.proxy].insert(a.toxic);
          break;
        case Action::Kind::remove_toxic:
          active[a.proxy].erase(a.toxic);
          break;
        case Action::Kind::disable_proxy:
          active[a.proxy].insert("");
          break;
        case Action::Kind::enable_proxy:
          active[a.proxy].erase("");
          break;
        case Action::Kind::update_toxic:
          break;
      }
    }
    bool fault = false;
    for (const auto& [_, set] : active)
      fault = fault || !set.empty();
    out.push_back(PhaseWindow{e.phase, e.at_seconds, fault});
  }
  return out;
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
      std::this_thread::sleep_for(20ms);
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
      store += (store.empty() ? "" : ",") + std::string("redis://") + addr;
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

void Orchestrator::execute(const Action& a) {
  Fetched f;
  const std::string base = "/proxies/" + a.proxy;
  switch (a.kind) {
    case Action::Kind::add_toxic:
      f = fetch(*proxy_api_, "POST", base + "/toxics", a.body.dump());
      break;
    case Action::Kind::update_toxic:
      f = fetch(*proxy_api_, "POST", base + "/toxics/" + a.toxic, a.body.dump());
      break;
    case Action::Kind::remove_toxic:
      f = fetch(*proxy_api_, "DELETE", base + "/toxics/" + a.toxic);
      break;
    case Action::Kind::disable_proxy:
      f = fetch(*proxy_api_, "POST", base, R"({"enabled": false})");
      break;
    case Action::Kind::enable_proxy:
      f = fetch(*proxy_api_, "POST", base, R"({"enabled": true})");
      break;
  }
  if (!f.ok) throw RunError(fmt::format("proxy: \"{}\" failed: {}", a.describe(), f.error));
}

void Orchestrator::scrape_boundary(std::size_t k, double at) {
  if (auto t = scrape(target_addr_)) collector_->set_boundary(k, at, "target", *t);
  if (auto p = scrape(proxy_api_)) collector_->set_boundary(k, at, "proxy", *p);
  if (auto l = scrape(load_metrics_)) collector_->set_boundary(k, at, "load", *l);
}

// Per-second process metrics of every component, on its own thread so a slow /metrics never
// delays a timeline action.
std::mutex g_resources_mutex;

void Orchestrator::scraper_loop(std::stop_token st) {
  auto next = Clock::now();
  while (!st.stop_requested()) {
    next += 1s;
    std::map<std::string, double> values;
    for (auto [name, hp] : {std::pair{"target", target_addr_}, std::pair{"proxy", proxy_api_},
                            std::pair{"load", load_metrics_}}) {
      auto snap = scrape(hp, 900ms);
      if (!snap) continue;
      if (auto v = snap->sum("process_resident_memory_bytes"))
        values[std::string(name) + "_rss_bytes"] = *v;
      if (auto v = snap->sum("process_open_fds")) values[std::string(name) + "_open_fds"] = *v;
    }
    const double t = clock_.offset(Clock::now());
    {
      std::lock_guard lock(g_resources_mutex);
      collector_->add_resources(t, std::move(values));
    }
    while (!st.stop_requested() && Clock::now() < next)
      std::this_thread::sleep_for(50ms);
  }
}

void Orchestrator::read_intervals() {
  if (!tail_) return;
  for (const auto& line : tail_->read()) {
    json j = json::parse(line, nullptr, false);
    std::lock_guard lock(g_resources_mutex);
    collector_->add_interval(j);
  }
}

void Orchestrator::check_components() {
  for (std::size_t i = 0; i < redis_.size(); ++i)
    if (!redis_[i].running())
      throw RunError(fmt::format("redis shard {} exited during the run", i));
  if (proxy_ && !proxy_->running())
    throw RunError(fmt::format("proxy exited during the run with status {} (see {})",
                               proxy_->wait(0ms), log_file("proxy")));
  if (target_ && !target_->running())
    throw RunError(fmt::format("target exited during the run with status {} (see {})",
                               target_->wait(0ms), log_file("target")));
}

void Orchestrator::teardown() {
  if (torn_down_) return;
  torn_down_ = true;
  if (scraper_.joinable()) {
    scraper_.request_stop();
    scraper_.join();
  }
  // Load first (it stops sending), then the things it talks to; SIGTERM, then SIGKILL after a
  // grace period.
  if (load_) load_->terminate(3000ms);
  if (target_) target_->terminate(3000ms);
  if (proxy_) proxy_->terminate(3000ms);
  for (auto& r : redis_) {
    r.signal(SIGCONT);  // a SIGSTOPped server cannot act on SIGTERM
    r.terminate(3000ms);
  }
}

int Orchestrator::run() {
  RunInfo info;
  info.started_at = utc_now_iso();
  const auto wall_start = Clock::now();
  std::vector<std::string> proxy_names;
  for (const auto& p : s_.proxies)
    proxy_names.push_back(p.name);
  const auto phases = windows();
  collector_ = std::make_unique<Collector>(phases, s_.duration_seconds, s_.load.apdex_t_seconds,
                                           proxy_names);
  std::size_t boundaries_done = 0;
  try {
    fs::create_directories(fs::path(o_.out_dir) / "logs");
    start_redis();
    start_proxy_process();
    for (const auto& p : s_.proxies)
      if (p.upstream_kind == ProxySpec::Upstream::redis_shard)
        create_proxy(p,
                     fmt::format("127.0.0.1:{}", redis_ports_[static_cast<std::size_t>(p.shard)]));
      else if (p.upstream_kind == ProxySpec::Upstream::address)
        create_proxy(p, p.address);
    start_target();
    for (const auto& p : s_.proxies)
      if (p.upstream_kind == ProxySpec::Upstream::target)
        create_proxy(p, target_addr_->to_string());
    if (target_addr_) info.endpoints["target"] = target_addr_->to_string();
    if (proxy_api_) info.endpoints["proxy"] = proxy_api_->to_string();
    for (const auto& [n, hp] : proxy_listen_)
      info.endpoints["proxy:" + n] = hp.to_string();

    // The timeline's clock starts when the load does (the interval lines count from there too).
    start_load();
    clock_.t0 = load_t0_.value_or(Clock::now());
    if (load_metrics_) info.endpoints["load"] = load_metrics_->to_string();
    write_prometheus_sd();
    scraper_ = std::jthread([this](std::stop_token st) { scraper_loop(st); });

    const auto end = clock_.at(s_.duration_seconds);
    auto next_tick = clock_.t0 + 1s;
    std::size_t next = 0;
    while (true) {
      check_stop();
      const auto now = Clock::now();
      if (next < s_.timeline.size() && now >= clock_.at(s_.timeline[next].at_seconds)) {
        const auto& e = s_.timeline[next];
        for (const auto& a : e.actions) {
          execute(a);
          timeline_log_.push_back({clock_.offset(Clock::now()), e.phase, a.describe()});
        }
        const double at = clock_.offset(Clock::now());
        if (e.actions.empty()) timeline_log_.push_back({at, e.phase, "phase starts"});
        scrape_boundary(next, at);
        boundaries_done = next + 1;
        spdlog::info("run: {:.2f}s phase {}", at, e.phase);
        ++next;
        continue;
      }
      if (next >= s_.timeline.size() && now >= end) break;
      if (now >= next_tick) {
        read_intervals();
        check_components();
        if (load_ && !load_->running() && now + 2s < end)
          throw RunError(fmt::format("load exited {:.1f}s before the end with status {} (see {})",
                                     std::chrono::duration<double>(end - now).count(),
                                     load_->wait(0ms), log_file("load")));
        next_tick += 1s;
      }
      auto wake = std::min(next_tick, end);
      if (next < s_.timeline.size()) wake = std::min(wake, clock_.at(s_.timeline[next].at_seconds));
      sleep_until(wake);
    }
    scrape_boundary(s_.timeline.size(), clock_.offset(Clock::now()));
    boundaries_done = s_.timeline.size() + 1;
    timeline_log_.push_back({clock_.offset(Clock::now()), "", "end of run"});
    // The load generator finishes its last second and writes its results; give it its request
    // timeout plus a margin.
    if (load_) {
      const auto deadline = Clock::now() + 15s;
      while (load_->running() && Clock::now() < deadline) {
        check_stop();
        read_intervals();
        std::this_thread::sleep_for(100ms);
      }
      if (load_->running()) {
        spdlog::warn("run: the load generator is still running 15s after the end; stopping it");
        load_->terminate(3000ms);
      }
      const int st = load_->wait(0ms);
      read_intervals();
      // 0 = done, 1 = one of its own thresholds failed (the scenario's assertions decide here).
      if (st != 0 && st != 1)
        throw RunError(fmt::format("load exited with status {} (see {})", st, log_file("load")));
    }
  } catch (const RunError& e) {
    info.verdict = "error";
    info.error = e.what();
  } catch (const Interrupted&) {
    info.verdict = "error";
    info.error = "interrupted (SIGINT/SIGTERM)";
    info.interrupted = true;
  } catch (const std::exception& e) {
    info.verdict = "error";
    info.error = e.what();
  }
  if (info.verdict == "error" && boundaries_done <= s_.timeline.size()) {
    // Close the phase that was cut short; phases that never started are left out.
    const double at = clock_.t0 == Clock::time_point{} ? 0 : clock_.offset(Clock::now());
    if (boundaries_done > 0) scrape_boundary(boundaries_done, at);
    collector_->truncate(boundaries_done, at);
  }
  teardown();
  read_intervals();
  info.duration_seconds = std::chrono::duration<double>(Clock::now() - wall_start).count();

  RunMeasurements m = collector_->finish();
  if (collector_->malformed_intervals() > 0)
    spdlog::warn("run: {} malformed interval lines skipped", collector_->malformed_intervals());
  std::vector<AssertionResult> results;
  if (info.verdict != "error") {
    for (const auto& a : s_.assertions)
      results.push_back(a->evaluate(m));
    info.verdict = verdict_of(results);
  }
  json doc = results_to_json(s_, info, m, timeline_log_, results);
  int code = info.verdict == "pass" ? kExitOk : info.verdict == "fail" ? kExitFailed : kExitUsage;
  if (info.interrupted) code = 130;
  try {
    fs::create_directories(o_.out_dir);
    const std::string results_path = (fs::path(o_.out_dir) / "results.json").string();
    {
      std::ofstream out(results_path);
      out << doc.dump(2) << "\n";
      if (!out) throw std::runtime_error("cannot write " + results_path);
    }
    write_junit(doc, (fs::path(o_.out_dir) / "junit.xml").string());
    write_html_report(doc, (fs::path(o_.out_dir) / "report.html").string());
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

}  // namespace

int run_scenario(const Scenario& scenario, const RunOptions& options) {
  SignalGuard guard;
  Orchestrator o(scenario, options);
  return o.run();
}

}  // namespace faultline::runner
