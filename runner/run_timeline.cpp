// `faultline run`, step 2: the timeline (see run_steps.hpp). Actions run at their times on the
// steady clock counted from the load generator's second 0; every phase boundary is scraped, and a
// thread scrapes the components' process metrics every second.
#include <fcntl.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/http_client.hpp"
#include "runner/log_rotate.hpp"
#include "runner/run_steps.hpp"

namespace faultline::runner::run_detail {

using namespace std::chrono_literals;

Fetched fetch(const HostPort& hp, const std::string& method, const std::string& target,
              const std::string& body, std::chrono::milliseconds timeout, const std::string& token,
              std::shared_ptr<boost::asio::ssl::context> tls) {
  HttpClientRequest req;
  req.tls = std::move(tls);
  req.method = method;
  req.target = target;
  req.body = body;
  req.timeout = timeout;
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
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

namespace {

std::optional<std::string> scrape_text(const std::optional<HostPort>& hp,
                                       std::chrono::milliseconds timeout = 1500ms,
                                       const std::string& path = "/metrics",
                                       const std::string& token = "",
                                       std::shared_ptr<boost::asio::ssl::context> tls = nullptr) {
  if (!hp) return std::nullopt;
  Fetched f = fetch(*hp, "GET", path, "", timeout, token, std::move(tls));
  if (!f.ok) return std::nullopt;
  return std::move(f.body);
}

std::optional<PromSnapshot> scrape(const std::optional<HostPort>& hp,
                                   std::chrono::milliseconds timeout = 1500ms,
                                   const std::string& path = "/metrics",
                                   const std::string& token = "",
                                   std::shared_ptr<boost::asio::ssl::context> tls = nullptr) {
  auto text = scrape_text(hp, timeout, path, token, std::move(tls));
  if (!text) return std::nullopt;
  return PromSnapshot::parse(*text);
}

}  // namespace

void Orchestrator::execute(const Action& a) {
  Fetched f;
  const std::string base = "/proxies/" + a.proxy;
  switch (a.kind) {
    case Action::Kind::add_toxic:
      f = api("POST", base + "/toxics", a.body.dump());
      break;
    case Action::Kind::update_toxic:
      f = api("POST", base + "/toxics/" + a.toxic, a.body.dump());
      break;
    case Action::Kind::remove_toxic:
      f = api("DELETE", base + "/toxics/" + a.toxic);
      break;
    case Action::Kind::disable_proxy:
      f = api("POST", base, R"({"enabled": false})");
      break;
    case Action::Kind::enable_proxy:
      f = api("POST", base, R"({"enabled": true})");
      break;
    case Action::Kind::signal:
    case Action::Kind::restart:
    case Action::Kind::exec:
      return;  // run_timeline handles them (they record more than the action)
  }
  if (!f.ok) throw RunError(fmt::format("proxy: \"{}\" failed: {}", a.describe(), f.error));
}

// Every component's /metrics at boundary k, into the collector and the run record.
void Orchestrator::scrape_boundary(std::size_t k, double at) {
  auto keep = [&](const std::string& component, const std::optional<std::string>& text) {
    if (!text) return;
    record_.append(
        {{"type", "boundary"}, {"k", k}, {"at", at}, {"component", component}, {"metrics", *text}});
    std::lock_guard lock(collector_mutex_);
    collector_->set_boundary(k, at, component, PromSnapshot::parse(*text));
  };
  auto take = [&](const std::string& component, const std::optional<HostPort>& hp,
                  const std::string& path, const std::string& token,
                  std::shared_ptr<boost::asio::ssl::context> tls = nullptr) {
    keep(component, scrape_text(hp, 1500ms, path, token, std::move(tls)));
  };
  take("target", sys_.target_addr, "/metrics", "", sys_.target_tls);
  take("proxy", sys_.proxy_api, "/metrics", o_.api_token);
  // The load generator: every shard's text in one, so its process figures are the sum over its
  // processes (none when a shard does not answer: a part would pass for the whole).
  std::optional<std::string> load_text;
  for (const auto& hp : load_metrics_) {
    auto text = scrape_text(hp, 1500ms, "/metrics", "", nullptr);
    if (!text) {
      load_text.reset();
      break;
    }
    load_text = load_text.value_or("") + *text + "\n";
  }
  keep("load", load_text);
  for (const auto& p : s_.processes) {
    if (!p.metrics.empty() && sys_.procs.count(p.name))
      take(p.name, p.metrics_address, p.metrics_path, "");
  }
}

// Every log under DIR/logs is capped (copytruncate: the children append with O_APPEND), so a 24 h
// run's logs stay bounded; a failure is reported once per file.
// A kept system's logs (sys_.log_dir, fixed while this thread runs) likewise.
void Orchestrator::rotate_logs() {
  constexpr std::uint64_t kMaxBytes = 16u << 20;
  constexpr int kKeep = 3;
  std::vector<std::filesystem::path> dirs{std::filesystem::path(o_.out_dir) / "logs"};
  if (!sys_.log_dir.empty()) dirs.emplace_back(sys_.log_dir);
  for (const auto& dir : dirs) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      if (e.path().extension() != ".log") continue;
      const std::string why = rotate_if_larger(e.path().string(), kMaxBytes, kKeep);
      if (!why.empty() && rotation_warned_.insert(e.path().string()).second)
        spdlog::warn("run: cannot rotate {}: {}", e.path().string(), why);
    }
  }
}

void Orchestrator::log_timeline(TimelineRecord r) {
  record_.append(
      {{"type", "timeline"}, {"at", r.at_seconds}, {"phase", r.phase}, {"action", r.action}});
  timeline_log_.push_back(std::move(r));
}

void Orchestrator::record_death(const std::string& component, int status, const std::string& log) {
  const double at = now_offset();
  json e = {{"at_seconds", at}, {"component", component}, {"status", status}, {"log", log}};
  events_.push_back(e);
  e["type"] = "death";
  record_.append(e);
}

// Per-second process metrics of every component, on its own thread so a slow /metrics never
// delays a timeline action.
void Orchestrator::scraper_loop(std::stop_token st) {
  std::mutex wake_mutex;
  std::condition_variable_any wake;
  auto next = Clock::now();
  while (!st.stop_requested()) {
    next += 1s;
    std::map<std::string, double> values;
    for (auto [name, hp] :
         {std::pair{"target", sys_.target_addr}, std::pair{"proxy", sys_.proxy_api}}) {
      const std::string_view n(name);
      auto snap = scrape(hp, 900ms, "/metrics", n == "proxy" ? o_.api_token : "",
                         n == "target" ? sys_.target_tls : nullptr);
      if (!snap) continue;
      if (auto v = snap->sum("process_resident_memory_bytes"))
        values[std::string(name) + "_rss_bytes"] = *v;
      if (auto v = snap->sum("process_open_fds")) values[std::string(name) + "_open_fds"] = *v;
    }
    // The load generator: from /proc, summed over its shards (each is a process of its own).
    std::optional<double> load_rss = loads_.empty() ? std::nullopt : std::optional<double>(0.0);
    std::optional<double> load_fds = load_rss;
    for (const auto& l : loads_) {
      const auto rss = proc_rss_bytes(l.pid());
      const auto fds = proc_open_fds(l.pid());
      load_rss = load_rss && rss ? std::optional<double>(*load_rss + *rss) : std::nullopt;
      load_fds = load_fds && fds ? std::optional<double>(*load_fds + *fds) : std::nullopt;
    }
    if (load_rss) values["load_rss_bytes"] = *load_rss;
    if (load_fds) values["load_open_fds"] = *load_fds;
    {
      // The user's processes: from /proc (they need not export process_* metrics).
      std::lock_guard lock(procs_mutex_);
      for (auto& [name, proc] : sys_.procs) {
        if (auto v = proc.mp->rss_bytes()) values[name + "_rss_bytes"] = *v;
        if (auto v = proc.mp->open_fds()) values[name + "_open_fds"] = *v;
      }
    }
    rotate_logs();
    const double t = clock_.offset(Clock::now());
    record_.append({{"type", "resources"}, {"t", t}, {"values", values}});
    {
      std::lock_guard lock(collector_mutex_);
      collector_->add_resources(t, std::move(values));
    }
    // Sleeps until the next second; teardown's request_stop() wakes it at once.
    std::unique_lock lock(wake_mutex);
    wake.wait_until(lock, st, next, [] { return false; });
  }
}

void Orchestrator::read_intervals() {
  if (!tail_) return;
  for (const json& j : tail_->read(!load_running())) {
    std::lock_guard lock(collector_mutex_);
    collector_->add_interval(j);
  }
}

void Orchestrator::check_components() {
  auto died = [&](const std::string& component, int status, const std::string& log,
                  const std::string& what) {
    record_death(component, status, log);
    throw RunError(
        fmt::format("{} exited during the run with status {} (see {})", what, status, log));
  };
  for (std::size_t i = 0; i < sys_.redis.size(); ++i)
    if (!expected_down(fmt::format("redis:{}", i)) && !sys_.redis[i].running())
      died(fmt::format("redis:{}", i), sys_.redis[i].wait(0ms),
           system_log_file(fmt::format("redis-{}", i)), fmt::format("redis shard {}", i));
  if (sys_.proxy && !sys_.proxy->running())
    died("proxy", sys_.proxy->wait(0ms), system_log_file("proxy"), "proxy");
  if (sys_.target && !expected_down("target") && !sys_.target->running())
    died("target", sys_.target->wait(0ms), system_log_file("target"), "target");
  std::lock_guard lock(procs_mutex_);
  for (auto& [name, proc] : sys_.procs)
    if (!expected_down(name) && !proc.mp->running())
      died(name, proc.mp->exit_status().value_or(-1), system_log_file(name), "process " + name);
}

void Orchestrator::run_timeline() {
  scraper_ = std::jthread([this](std::stop_token st) { scraper_loop(st); });
  const auto end = clock_.at(s_.duration_seconds);
  auto next_tick = clock_.t0 + 1s;
  auto next_checkpoint =
      clock_.t0 + std::chrono::duration_cast<Clock::duration>(
                      std::chrono::duration<double>(o_.checkpoint_interval_seconds));
  std::size_t next = 0;
  while (true) {
    check_stop();
    const auto now = Clock::now();
    if (next < s_.timeline.size() && now >= clock_.at(s_.timeline[next].at_seconds)) {
      const auto& e = s_.timeline[next];
      // The phase starts when its actions start, so what they cause (a restart's refused requests,
      // a toxic's first effects) is measured in it; the boundary scrape follows the actions (a
      // process they CONTinue answers it).
      const double at = clock_.offset(Clock::now());
      for (const auto& a : e.actions) {
        const double started = clock_.offset(Clock::now());
        std::string what = a.describe();
        if (a.kind == Action::Kind::signal) {
          signal_component(a);
        } else if (a.kind == Action::Kind::restart) {
          what += fmt::format(": ready again after {:.2f}s", restart_component(a.process));
        } else if (a.kind == Action::Kind::exec) {
          what += ": " + exec_command(a, ++execs_);
        } else {
          execute(a);
        }
        log_timeline({started, e.phase, what});
      }
      if (e.actions.empty()) log_timeline({at, e.phase, "phase starts"});
      scrape_boundary(next, at);
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
      check_components();
      for (std::size_t i = 0; i < loads_.size() && now + 2s < end; ++i) {
        if (loads_[i].running()) continue;
        const std::string name = loads_.size() > 1 ? fmt::format("load-{}", i) : "load";
        record_death(name, loads_[i].wait(0ms), log_file(name));
        throw RunError(fmt::format("{} exited {:.1f}s before the end with status {} (see {})", name,
                                   std::chrono::duration<double>(end - now).count(),
                                   loads_[i].wait(0ms), log_file(name)));
      }
      if (o_.checkpoint_interval_seconds > 0 && now >= next_checkpoint) {
        write_checkpoint();
        next_checkpoint = now + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(o_.checkpoint_interval_seconds));
      }
      next_tick += 1s;
    }
    auto wake = std::min(next_tick, end);
    if (next < s_.timeline.size()) wake = std::min(wake, clock_.at(s_.timeline[next].at_seconds));
    sleep_until(wake);
  }
  scrape_boundary(s_.timeline.size(), clock_.offset(Clock::now()));
  boundaries_done_ = s_.timeline.size() + 1;
  log_timeline({clock_.offset(Clock::now()), "", "end of run"});
}

}  // namespace faultline::runner::run_detail
