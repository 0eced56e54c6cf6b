// The run's scrapes and per-second samples (see sampler.hpp).
#include "runner/timeline/sampler.hpp"

#include <condition_variable>
#include <mutex>

#include <spdlog/spdlog.h>

#include "runner/system/log_rotate.hpp"

namespace faultline::runner {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

void Sampler::boundary(std::size_t k, double at,
                       const std::function<bool(const std::string&)>& wanted) {
  auto keep = [&](const std::string& component, std::optional<std::string> text) {
    if (text) ledger_.record(event::Boundary{k, at, component, std::move(*text)});
  };
  for (const auto& [key, m] : sys_.metrics_endpoints())
    if (wanted(key)) keep(key, scrape_text(m, 1500ms));
  // The load generator: every shard's text in one, so its process figures are the sum over its
  // processes (none when a shard does not answer: a part would pass for the whole).
  if (const std::string load = ComponentId::load(0, 1).key(); wanted(load))
    keep(load, load_.metrics_text(1500ms));
}

void Sampler::start(TimelineClock clock) {
  thread_ = std::jthread([this, clock](std::stop_token st) { loop(st, clock); });
}

void Sampler::stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

// Every log is capped (copytruncate: the children append with O_APPEND), so a 24 h run's logs stay
// bounded; a failure is reported once per file.
void Sampler::rotate_logs() {
  constexpr std::uint64_t kMaxBytes = 16u << 20;
  constexpr int kKeep = 3;
  for (const auto& dir : log_dirs_) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      if (e.path().extension() != ".log") continue;
      const std::string why = rotate_if_larger(e.path().string(), kMaxBytes, kKeep);
      if (!why.empty() && rotation_warned_.insert(e.path().string()).second)
        spdlog::warn("run: cannot rotate {}: {}", e.path().string(), why);
    }
  }
}

void Sampler::loop(std::stop_token st, TimelineClock clock) {
  std::mutex wake_mutex;
  std::condition_variable_any wake;
  auto next = Clock::now();
  std::uint64_t failures = 0;
  while (!st.stop_requested()) {
    next += 1s;
    // Nothing may escape the thread (std::terminate): a failed sample is a second without
    // samples, reported the first time and counted after.
    try {
      event::Resources r;
      sys_.sample_resources(r.values);
      // The load generator: from /proc, summed over its shards (each is a process of its own).
      load_.sample_resources(r.values);
      rotate_logs();
      r.t = clock.offset(Clock::now());
      ledger_.record(std::move(r));
    } catch (const std::exception& e) {
      if (failures++ == 0)
        spdlog::error("run: a resource sample failed ({}); the run goes on, that second unsampled",
                      e.what());
    }
    // Sleeps until the next second; stop()'s request_stop() wakes it at once.
    std::unique_lock lock(wake_mutex);
    wake.wait_until(lock, st, next, [] { return false; });
  }
  if (failures > 1) spdlog::error("run: {} resource samples failed in all", failures);
}

}  // namespace faultline::runner
