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
    case CloseReason::tls_failed:
      return "tls_failed";
  }
  return "client_closed";
}

std::string_view to_string(TlsSide s) {
  return s == TlsSide::client ? "client" : "upstream";
}

std::string_view to_string(TlsOutcome o) {
  switch (o) {
    case TlsOutcome::ok:
      return "ok";
    case TlsOutcome::failed:
      return "failed";
    case TlsOutcome::timeout:
      return "timeout";
    case TlsOutcome::fault:
      return "fault";
  }
  return "failed";
}

std::string_view to_string(RejectReason r) {
  switch (r) {
    case RejectReason::malformed:
      return "malformed";
    case RejectReason::framing:
      return "framing";
    case RejectReason::too_large:
      return "too_large";
  }
  return "malformed";
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
                    .Register(metrics.registry())),
      tls_handshakes_(prometheus::BuildCounter()
                          .Name("faultline_proxy_tls_handshakes_total")
                          .Help("TLS handshakes of the proxy, by side (client: terminated, "
                                "upstream: originated) and outcome.")
                          .Register(metrics.registry())),
      tls_handshake_seconds_(prometheus::BuildHistogram()
                                 .Name("faultline_proxy_tls_handshake_seconds")
                                 .Help("Duration of the proxy's completed TLS handshakes, by side.")
                                 .Register(metrics.registry())),
      rejected_(prometheus::BuildCounter()
                    .Name("faultline_proxy_requests_rejected_total")
                    .Help("HTTP requests answered by the proxy with 400/413/431/501 and not "
                          "forwarded, by reason.")
                    .Register(metrics.registry())) {}

ProxyCounters ProxyMetrics::acquire(const std::string& name,
                                    const std::vector<std::string>& kinds) {
  std::lock_guard lock(mu_);
  Held& h = held_[name];
  if (h.holds++ == 0) {
    ProxyCounters& c = h.counters;
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
    for (std::size_t side = 0; side < kTlsSides; ++side) {
      const std::string side_name(to_string(static_cast<TlsSide>(side)));
      for (std::size_t o = 0; o < kTlsOutcomes; ++o)
        c.tls_handshakes[side][o] =
            &tls_handshakes_.Add({{"proxy", name},
                                  {"side", side_name},
                                  {"outcome", std::string(to_string(static_cast<TlsOutcome>(o)))}});
      c.tls_handshake_seconds[side] = &tls_handshake_seconds_.Add(
          {{"proxy", name}, {"side", side_name}}, latency_buckets_seconds());
    }
    for (std::size_t r = 0; r < kRejectReasons; ++r)
      c.rejected[r] = &rejected_.Add(
          {{"proxy", name}, {"reason", std::string(to_string(static_cast<RejectReason>(r)))}});
  }
  for (const auto& kind : kinds)
    if (!h.faults.count(kind)) h.faults[kind] = &faults_.Add({{"proxy", name}, {"kind", kind}});
  return h.counters;
}

void ProxyMetrics::release(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = held_.find(name);
  if (it == held_.end() || --it->second.holds > 0) return;
  const ProxyCounters& c = it->second.counters;
  accepted_.Remove(c.accepted);
  active_.Remove(c.active);
  for (auto* closed : c.closed)
    closed_.Remove(closed);
  connect_errors_.Remove(c.connect_errors);
  bytes_.Remove(c.bytes_upstream);
  bytes_.Remove(c.bytes_downstream);
  requests_.Remove(c.requests);
  injected_delay_.Remove(c.injected_delay);
  toxics_active_.Remove(c.toxics_active);
  overflow_.Remove(c.overflow);
  for (std::size_t side = 0; side < kTlsSides; ++side) {
    for (auto* h : c.tls_handshakes[side])
      tls_handshakes_.Remove(h);
    tls_handshake_seconds_.Remove(c.tls_handshake_seconds[side]);
  }
  for (auto* r : c.rejected)
    rejected_.Remove(r);
  for (const auto& [_, f] : it->second.faults)
    faults_.Remove(f);
  held_.erase(it);
}

prometheus::Counter* ProxyMetrics::faults(const std::string& proxy, const std::string& kind) {
  std::lock_guard lock(mu_);
  auto* c = &faults_.Add({{"proxy", proxy}, {"kind", kind}});
  // Remembered so that release() removes it with the proxy's other series.
  if (auto it = held_.find(proxy); it != held_.end()) it->second.faults.emplace(kind, c);
  return c;
}

}  // namespace faultline::proxy
