// `faultline load --push-gateway URL`: pushes the run's faultline_load_* metrics to a Prometheus
// Pushgateway once a second, grouped by job and shard (/metrics/job/JOB/shard/I), so that the
// shards of a distributed run (pods of a Kubernetes Job, say) show up live in one Prometheus
// without it having to discover them; at the end the group is deleted unless --push-keep.
//
// The requests are made with libcurl directly, not with prometheus-cpp's push library
// (prometheus::Gateway): Debian 12's libprometheus-cpp-push 1.0.1 sets no curl timeout, so a
// gateway that accepts and never answers would block the load generator's exit forever. Here
// every request has a connect and a total timeout; what is pushed is serialized by
// prometheus-cpp's own TextSerializer.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <prometheus/registry.h>

namespace faultline::loadgen {

struct PushGatewaySettings {
  std::string url;                     // as given: http(s)://HOST:PORT[/prefix]
  std::string job = "faultline_load";  // the `job` grouping key
  bool keep = false;                   // leave the group in the gateway after the run
};

// The group's URL (BASE/metrics/job/JOB/shard/SHARD), or nullopt with `error` naming the flag:
// a URL that is not http(s)://HOST[:PORT][/prefix] (no query), a job that is not
// [A-Za-z0-9_.:-]+.
std::optional<std::string> push_group_url(const PushGatewaySettings& settings, std::size_t shard,
                                          std::string& error);

// Pushes `registry` (PUT: the group's metrics replaced as a whole) every `period` from its own
// thread from start() on; stop() makes one last push, then deletes the group unless `keep`.
// Failures are counted and logged (the first of a run of them, and the recovery), never thrown:
// the load does not depend on its monitoring.
class MetricsPusher {
 public:
  MetricsPusher(std::string group_url, bool keep, std::shared_ptr<prometheus::Registry> registry,
                std::chrono::milliseconds period = std::chrono::seconds(1),
                std::chrono::milliseconds request_timeout = std::chrono::seconds(2));
  ~MetricsPusher();  // stop()
  MetricsPusher(const MetricsPusher&) = delete;
  MetricsPusher& operator=(const MetricsPusher&) = delete;

  void start();
  // Idempotent. Joins the thread (its request in progress is bounded by the timeout).
  void stop();

  std::uint64_t pushes() const { return pushes_.load(); }
  std::uint64_t failures() const { return failures_.load(); }
  bool deleted() const { return deleted_; }

 private:
  void loop();
  void push();
  // One request; "" on a 2xx answer, else what went wrong.
  std::string request(const char* method, const std::string& body) const;

  std::string url_;
  bool keep_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::chrono::milliseconds period_;
  std::chrono::milliseconds timeout_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool stopped_ = false;
  bool failing_ = false;
  bool deleted_ = false;
  std::atomic<std::uint64_t> pushes_{0};
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace faultline::loadgen
