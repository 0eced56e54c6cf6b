// Registration of the faultline_proxy_* metric families (names and help texts: METRICS.md).
#include "proxy/proxy_metrics.hpp"

namespace faultline::proxy {

std::string_view to_string(CloseReason r) {
  switch (r) {
    case CloseReason::client_closed:
      return "client_closed";
    case CloseReason::upstream_closed:
      return "upstream_closed";
    case CloseReason::upstream_connect_failed:
      return "upstream_connect_failed";
    case CloseReason::idle_timeout:
      return "idle_timeout";
    case CloseReason::fault:
      return "fault";
    case CloseReason::proxy_disabled:
      return "proxy_disabled";
  }
  return "client_closed";
}

ProxyMetrics::ProxyMetrics(Metrics& metrics)
    : metrics_(metrics),
      accepted_(prometheus::BuildCounter()
                    .Name("faultline_proxy_connections_accepted_total")
                    .Help("Client connections accepted by the proxy.")
                    .Register(metrics.registry())),
      active_(prometheus::BuildGauge()
                  .Name("faultline_proxy_connections_active")
                  .Help("Client connections currently open through the proxy.")
                  .Register(metrics.registry())),
      closed_(prometheus::BuildCounter()
                  .Name("faultline_proxy_connections_closed_total")
                  .Help("Proxied connections that ended, by reason.")
                  .Register(metrics.registry())),
      connect_errors_(prometheus::BuildCounter()
                          .Name("faultline_proxy_upstream_connect_errors_total")
                          .Help("Failed attempts to connect to the upstream.")
                          .Register(metrics.registry())),
      bytes_(prometheus::BuildCounter()
                 .Name("faultline_proxy_bytes_total")
                 .Help("Bytes read by the proxy, by direction (upstream: client to server; "
                       "downstream: server to client).")
                 .Register(metrics.registry())),
      requests_(prometheus::BuildCounter()
                    .Name("faultline_proxy_requests_total")
                    .Help("Units faults are drawn for: HTTP requests (http), commands (redis), "
                          "connections (tcp).")
                    .Register(metrics.registry())),
      faults_(prometheus::BuildCounter()
                  .Name("faultline_proxy_faults_injected_total")
                  .Help("Faults injected, by behavior type (kind).")
                  .Register(metrics.registry())),
      injected_delay_(prometheus::BuildCounter()
                          .Name("faultline_proxy_injected_delay_seconds_total")
                          .Help("Delay added by latency-like behaviors, in seconds.")
                          .Register(metrics.registry())),
      toxics_active_(prometheus::BuildGauge()
                         .Name("faultline_proxy_toxics_active")
                         .Help("Toxics currently configured on the proxy.")
                         .Register(metrics.registry())),
      overflow_(prometheus::BuildCounter()
                    .Name("faultline_proxy_fault_overflow_total")
                    .Help("Faults not injected because max_active_faults were already active.")
                    .Register(metrics.registry())) {}

ProxyCounters ProxyMetrics::proxy(const std::string& name) {
  std::lock_guard lock(mu_);
  ProxyCounters c;
  c.accepted = &accepted_.Add({{"proxy", name}});
  c.active = &active_.Add({{"proxy", name}});
  for (std::size_t i = 0; i < kCloseReasons; ++i)
    c.closed[i] = &closed_.Add(
        {{"proxy", name}, {"reason", std::string(to_string(static_cast<CloseReason>(i)))}});
  c.connect_errors = &connect_errors_.Add({{"proxy", name}});
  c.bytes_upstream = &bytes_.Add({{"proxy", name}, {"direction", "upstream"}});
  c.bytes_downstream = &bytes_.Add({{"proxy", name}, {"direction", "downstream"}});
  c.requests = &requests_.Add({{"proxy", name}});
  c.injected_delay = &injected_delay_.Add({{"proxy", name}});
  c.toxics_active = &toxics_active_.Add({{"proxy", name}});
  c.overflow = &overflow_.Add({{"proxy", name}});
  return c;
}

prometheus::Counter* ProxyMetrics::faults(const std::string& proxy, const std::string& kind) {
  std::lock_guard lock(mu_);
  return &faults_.Add({{"proxy", proxy}, {"kind", kind}});
}

}  // namespace faultline::proxy
