// The faultline_proxy_* metrics (documented in METRICS.md): families registered once, and the
// pre-created label values of one proxy, so every series exists (at 0) as soon as its proxy or
// toxic does.
#pragma once

#include <array>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/metrics.hpp"

namespace faultline::proxy {

// Why a proxied connection ended (the `reason` label; a closed set).
enum class CloseReason {
  client_closed,            // the client closed or reset first
  upstream_closed,          // the upstream closed or reset first
  upstream_connect_failed,  // the upstream could not be reached
  idle_timeout,             // no traffic in either direction for --idle-timeout
  fault,                    // a behavior closed it (timeout, limit_data, reset_peer, abort, ...)
  proxy_disabled,           // the proxy was disabled, updated, deleted or reset
};
inline constexpr std::size_t kCloseReasons = 6;
std::string_view to_string(CloseReason r);

struct ProxyCounters {
  prometheus::Counter* accepted = nullptr;
  prometheus::Gauge* active = nullptr;
  std::array<prometheus::Counter*, kCloseReasons> closed{};
  prometheus::Counter* connect_errors = nullptr;
  prometheus::Counter* bytes_upstream = nullptr;    // client → upstream
  prometheus::Counter* bytes_downstream = nullptr;  // upstream → client
  prometheus::Counter* requests = nullptr;  // http requests, redis commands, tcp connections
  prometheus::Counter* injected_delay = nullptr;
  prometheus::Gauge* toxics_active = nullptr;
  prometheus::Counter* overflow = nullptr;  // faults skipped because of max_active_faults
};

class ProxyMetrics {
 public:
  explicit ProxyMetrics(Metrics& metrics);
  Metrics& metrics() noexcept { return metrics_; }
  // Label values of one proxy, faults_injected_total at 0 for each of `kinds` included, so every
  // series exists before the first event. Counted: the same objects while a holder remains (a
  // deleted proxy's connections may outlive it while a new one of the same name starts).
  ProxyCounters acquire(const std::string& name, const std::vector<std::string>& kinds);
  // Drops one hold; the last removes every series labelled proxy=name (a deleted proxy leaves
  // nothing behind in /metrics).
  void release(const std::string& name);
  // faultline_proxy_faults_injected_total{proxy, kind}.
  prometheus::Counter* faults(const std::string& proxy, const std::string& kind);

 private:
  struct Held {
    int holds = 0;
    ProxyCounters counters;
    std::map<std::string, prometheus::Counter*> faults;
  };
  Metrics& metrics_;
  std::mutex mu_;
  std::map<std::string, Held> held_;
  prometheus::Family<prometheus::Counter>& accepted_;
  prometheus::Family<prometheus::Gauge>& active_;
  prometheus::Family<prometheus::Counter>& closed_;
  prometheus::Family<prometheus::Counter>& connect_errors_;
  prometheus::Family<prometheus::Counter>& bytes_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Counter>& faults_;
  prometheus::Family<prometheus::Counter>& injected_delay_;
  prometheus::Family<prometheus::Gauge>& toxics_active_;
  prometheus::Family<prometheus::Counter>& overflow_;
};

}  // namespace faultline::proxy
