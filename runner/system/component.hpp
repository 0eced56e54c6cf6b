// One interface for everything a run starts: a Redis shard, the target, the proxy server, one of
// the user's processes, a load shard. The system (system.hpp) keeps them in start order, so
// starting, checking, signalling, restarting and stopping a run are loops over this interface; a
// new kind of component is one class here and one line where the system builds its list.
//
// Errors: a component that cannot start or dies is a RunError naming it (the run's verdict becomes
// "error", exit 2); a stop signal that arrives while a component is waited for is Interrupted
// (exit 130). Both end the run through the orchestrator; nothing else throws for expected events.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "common/config.hpp"
#include "runner/scenario/component_id.hpp"
#include "runner/system/run_error.hpp"

namespace faultline::runner {

// Asked while waiting: true once a stop signal arrived (the waiter then throws Interrupted).
using StopCheck = std::function<bool()>;

// Where a component serves its Prometheus metrics.
struct MetricsEndpoint {
  HostPort address;
  std::string path = "/metrics";
  std::string token;                               // sent as "Authorization: Bearer TOKEN"
  std::shared_ptr<boost::asio::ssl::context> tls;  // HTTPS with this context; null: HTTP
};

struct Resources {
  std::optional<double> rss_bytes, open_fds;
};

class Component {
 public:
  Component(ComponentId id, std::string log_file) : id_(std::move(id)), log_(std::move(log_file)) {}
  virtual ~Component() = default;
  Component(const Component&) = delete;
  Component& operator=(const Component&) = delete;

  const ComponentId& id() const noexcept { return id_; }
  const std::string& log_file() const noexcept { return log_; }

  // Launches it (without waiting). Throws RunError when it cannot be launched.
  virtual void start() = 0;
  // Waits until it is ready (listening, answering, its ready check passed). Throws RunError naming
  // it when it exits first or is not ready in time, Interrupted when `should_stop` turns true.
  virtual void ready(const StopCheck& should_stop) = 0;
  virtual bool running() = 0;
  // Its exit status once it exited (the code, or 128+signal); -1 when unknown.
  virtual int exit_status() = 0;
  // Sends `sig` (to its process group where it has one).
  virtual void signal(int sig) = 0;
  // Stops it as teardown does, starts it again and waits until it is ready.
  virtual void restart(const StopCheck& should_stop) {
    stop();
    start();
    ready(should_stop);
  }
  // Teardown: SIGCONT (a stopped process cannot act on anything else), its stop signal, a grace
  // period, SIGKILL. No-op when it is not running.
  virtual void stop() = 0;
  // Its process's resident memory and open files (from /proc, no network: System calls it under
  // the lock that restarts take); none when not sampled.
  virtual Resources resources() const { return {}; }
  // True for a component faultline did not start (an attached proxy API): its resources are the
  // process_* gauges of its /metrics, which System scrapes outside its lock (resources_of below).
  virtual bool resources_from_metrics() const { return false; }
  // Where it serves /metrics (scraped at phase boundaries), if anywhere.
  virtual std::optional<MetricsEndpoint> metrics() const { return std::nullopt; }

 private:
  ComponentId id_;
  std::string log_;
};

// An HTTP exchange with a component (the proxy API, /metrics). `ok`: a 2xx answer.
struct Fetched {
  bool ok = false;
  unsigned status = 0;
  std::string body;
  std::string error;
};
Fetched fetch(const HostPort& hp, const std::string& method, const std::string& target,
              const std::string& body = "",
              std::chrono::milliseconds timeout = std::chrono::milliseconds(5000),
              const std::string& token = "",
              std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
// The metrics text of an endpoint, or nullopt when it did not answer 2xx in time.
std::optional<std::string> scrape_text(const MetricsEndpoint& m, std::chrono::milliseconds timeout);
// process_resident_memory_bytes and process_open_fds of an endpoint's metrics (none when it did not
// answer in `timeout`).
Resources resources_of(const MetricsEndpoint& m, std::chrono::milliseconds timeout);

}  // namespace faultline::runner
