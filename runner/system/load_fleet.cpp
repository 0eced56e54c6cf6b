// The load generator's processes (see load_fleet.hpp).
#include "runner/system/load_fleet.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace faultline::runner {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

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

}  // namespace

LoadFleet::LoadFleet(const Scenario& s, std::string out_dir, std::string faultline_exe)
    : s_(s),
      out_dir_(std::move(out_dir)),
      exe_(std::move(faultline_exe)),
      intervals_path_((fs::path(out_dir_) / kIntervalsFile).string()),
      results_path_((fs::path(out_dir_) / "load-results.json").string()) {}

std::string LoadFleet::default_url(const std::optional<HostPort>& target,
                                   const std::map<std::string, HostPort>& proxy_listen) const {
  if (!s_.load.url.empty()) return s_.load.url;
  const HostPort& to = s_.load.via.empty() ? *target : proxy_listen.at(s_.load.via);
  return fmt::format("{}://{}", load_speaks_tls(s_) ? "https" : "http", to.to_string());
}

std::vector<std::string> LoadFleet::argv(const std::string& url, std::size_t shard,
                                         unsigned short metrics_port) const {
  const bool sharded = s_.load.shards > 1;
  std::string workload = s_.load.workload_file;
  if (workload.empty()) workload = (fs::path(out_dir_) / "workload.json").string();
  std::vector<std::string> argv{exe_,
                                "load",
                                url,
                                "--workload",
                                workload,
                                "--duration",
                                seconds_arg(s_.duration_seconds),
                                "--out",
                                sharded ? shard_results_path(out_dir_, shard) : results_path_,
                                "--intervals-out",
                                sharded ? shard_intervals_path(out_dir_, shard) : intervals_path_,
                                "--metrics-listen",
                                fmt::format("127.0.0.1:{}", metrics_port)};
  if (sharded) argv.insert(argv.end(), {"--shard", fmt::format("{}/{}", shard, s_.load.shards)});
  // The options the scenario parsed with the load generator's own rules, handed back as its flags.
  loadgen::LoadOptions options = s_.load.options;
  if (!options.seed) options.seed = loadgen::kDefaultSeed;
  const auto flags = loadgen::to_argv(options);
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), s_.load.args.begin(), s_.load.args.end());
  // https to a certificate of the run's PKI: trusted through its CA, unless the scenario's load
  // args already say how to verify.
  const auto given = [&](const std::string& flag) {  // "--flag VALUE" or "--flag=VALUE"
    return std::any_of(s_.load.args.begin(), s_.load.args.end(), [&](const std::string& a) {
      return a == flag || a.rfind(flag + "=", 0) == 0;
    });
  };
  if (s_.run_pki && url.rfind("https://", 0) == 0 && !given("--cacert") && !given("--insecure"))
    argv.insert(argv.end(), {"--cacert", s_.placeholder_values.at("tls.ca")});
  return argv;
}

std::optional<Clock::time_point> LoadFleet::start(const std::string& url,
                                                  const std::vector<unsigned short>& metrics_ports,
                                                  const StopCheck& should_stop) {
  if (s_.load.workload_file.empty())
    std::ofstream((fs::path(out_dir_) / "workload.json").string())
        << s_.load.workload_inline.dump(2) << "\n";
  fs::remove(intervals_path_);
  const auto n = static_cast<std::size_t>(s_.load.shards);
  // Shards: one second 0 for all (--start-at), far enough ahead that the last one is up by then
  // (each takes ~50-200 ms to start on a loaded machine), so their seconds merge one to one.
  std::string start_at;
  if (n > 1) {
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    start_at = fmt::format("{:.6f}", now + 1.0 + 0.25 * static_cast<double>(n));
  }
  std::vector<std::string> tails;
  // Every shard is started before any is waited for, so the last one is not late for --start-at
  // by the sum of the others' start-up times.
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::string> a = argv(url, i, i < metrics_ports.size() ? metrics_ports[i] : 0);
    if (n > 1) {
      a.insert(a.end(), {"--start-at", start_at});
      fs::remove(shard_intervals_path(out_dir_, i));
    }
    tails.push_back(n > 1 ? shard_intervals_path(out_dir_, i) : intervals_path_);
    shards_.push_back(
        std::make_unique<LoadShard>(i, n, std::move(a), (fs::path(out_dir_) / "logs").string()));
    shards_.back()->start();
  }
  for (auto& sh : shards_)
    sh->ready(should_stop);
  // Every shard's second 0 is the same instant: shard 0's "started at" line gives it.
  auto t0 = shards_.front()->wait_started(should_stop);
  tail_ = std::make_unique<LoadIntervals>(tails, intervals_path_);
  spdlog::info("run: load -> {} ({} process{}, metrics on {})", url, n, n > 1 ? "es" : "",
               shards_.front()->metrics()->address.to_string());
  return t0;
}

bool LoadFleet::running() {
  return std::any_of(shards_.begin(), shards_.end(), [](auto& s) { return s->running(); });
}

std::optional<std::string> LoadFleet::metrics_text(std::chrono::milliseconds timeout) const {
  if (shards_.empty()) return std::nullopt;
  std::string all;
  for (const auto& sh : shards_) {
    auto m = sh->metrics();
    auto text = m ? scrape_text(*m, timeout) : std::nullopt;
    if (!text) return std::nullopt;
    all += *text + "\n";
  }
  return all;
}

std::vector<MetricsEndpoint> LoadFleet::metrics() const {
  std::vector<MetricsEndpoint> out;
  for (const auto& sh : shards_)
    if (auto m = sh->metrics()) out.push_back(std::move(*m));
  return out;
}

void LoadFleet::sample_resources(std::map<std::string, double>& values) const {
  if (shards_.empty()) return;
  std::optional<double> rss = 0.0, fds = 0.0;
  for (const auto& sh : shards_) {
    const Resources r = sh->resources();
    rss = rss && r.rss_bytes ? std::optional<double>(*rss + *r.rss_bytes) : std::nullopt;
    fds = fds && r.open_fds ? std::optional<double>(*fds + *r.open_fds) : std::nullopt;
  }
  const std::string prefix = *shards_.front()->id().resource_prefix();
  if (rss) values[ComponentId::rss_key(prefix)] = *rss;
  if (fds) values[ComponentId::open_fds_key(prefix)] = *fds;
}

std::vector<json> LoadFleet::read_intervals() {
  if (!tail_) return {};
  return tail_->read(!running());
}

void LoadFleet::drain(const StopCheck& should_stop, const std::function<void()>& on_tick) {
  if (shards_.empty()) return;
  // The load generator finishes its last second and writes its results; give it its request
  // timeout plus a margin.
  const auto deadline = Clock::now() + 15s;
  while (running() && Clock::now() < deadline) {
    if (should_stop()) throw Interrupted{};
    on_tick();
    std::this_thread::sleep_for(100ms);
  }
  if (running()) {
    spdlog::warn("run: the load generator is still running 15s after the end; stopping it");
    for (auto& sh : shards_)
      sh->stop();
  }
  on_tick();
  for (auto& sh : shards_) {
    const int st = sh->exit_status();
    // 0 = done, 1 = one of its own thresholds failed (the scenario's assertions decide here).
    if (st != 0 && st != 1)
      throw RunError(
          fmt::format("{} exited with status {} (see {})", sh->id().display(), st, sh->log_file()));
  }
  if (shards_.size() > 1) {
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < shards_.size(); ++i)
      parts.push_back(shard_results_path(out_dir_, i));
    merge_shard_results(parts, results_path_);
  }
}

void LoadFleet::stop() {
  for (auto& sh : shards_)
    sh->stop();
}

}  // namespace faultline::runner
