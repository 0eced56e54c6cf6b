// LoadShard (components.hpp): one `faultline load` process of the run, ready when it prints the
// address of its /metrics; shard 0 also says when its second 0 began.
#include <filesystem>

#include <spdlog/spdlog.h>

#include "common/ready_line.hpp"
#include "runner/system/components.hpp"

namespace faultline::runner {

using namespace std::chrono_literals;

LoadShard::LoadShard(std::size_t index, std::size_t shards, std::vector<std::string> argv,
                     const std::string& log_dir)
    : ChildComponent(
          ComponentId::load(index, shards),
          (std::filesystem::path(log_dir) / (ComponentId::load(index, shards).log_name() + ".log"))
              .string(),
          std::move(argv)) {}

void LoadShard::ready(const StopCheck& should_stop) {
  metrics_ = wait_listening(should_stop);
}

std::optional<MetricsEndpoint> LoadShard::metrics() const {
  if (!metrics_) return std::nullopt;
  return MetricsEndpoint{*metrics_, "/metrics", "", nullptr};
}

// `faultline load --metrics-listen` prints "started at UNIX_SECONDS" once its clock is set: the
// instant its first interval begins. Converted to this process's steady clock (same machine, so
// the wall clocks agree; the conversion error is microseconds).
std::optional<std::chrono::steady_clock::time_point> LoadShard::wait_started(
    const StopCheck& should_stop) {
  if (auto line = wait_line(ready_line::kStartedAt, should_stop, 20s)) {
    if (auto unix_seconds = ready_line::parse_started_at(*line)) {
      const auto ahead = std::chrono::duration<double>(*unix_seconds) -
                         std::chrono::system_clock::now().time_since_epoch();
      return std::chrono::steady_clock::now() +
             std::chrono::duration_cast<std::chrono::steady_clock::duration>(ahead);
    }
  }
  spdlog::warn(
      "run: the load generator did not report its start time; phase boundaries may be "
      "off by the start-up delay");
  return std::nullopt;
}

}  // namespace faultline::runner
