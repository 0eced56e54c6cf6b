// The faultline_proxy_* metric families (names and help texts: METRICS.md), kept per proxy.
#include "proxy/proxy_metrics.hpp"

#include <algorithm>
#include <sstream>

#include <prometheus/text_serializer.h>

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

std::string_view to_string(TruncatedBy b) {
  return b == TruncatedBy::upstream ? "upstream" : "fault";
}

std::string_view to_string(RewriteSkip r) {
  switch (r) {
    case RewriteSkip::too_large:
      return "too_large";
    case RewriteSkip::not_json:
      return "not_json";
    case RewriteSkip::encoded:
      return "encoded";
    case RewriteSkip::patch_failed:
      return "patch_failed";
  }
  return "?";
}

std::string_view to_string(WsOutcome o) {
  switch (o) {
    case WsOutcome::relayed:
      return "relayed";
    case WsOutcome::refused:
      return "refused";
    case WsOutcome::failed:
      return "failed";
  }
  return "failed";
}

namespace {

template <class T>
T* own(std::vector<std::unique_ptr<T>>& store, std::unique_ptr<T> m) {
  store.push_back(std::move(m));
  return store.back().get();
}

prometheus::ClientMetric sample(const prometheus::Counter* c) {
  return c->Collect();
}
prometheus::ClientMetric sample(const prometheus::Gauge* g) {
  return g->Collect();
}
prometheus::ClientMetric sample(const prometheus::Histogram* h) {
  return h->Collect();
}

}  // namespace

ProxyMetrics::ProxyMetrics(Metrics& metrics) : metrics_(metrics) {}

ProxyCounters ProxyMetrics::acquire(const std::string& name,
                                    const std::vector<std::string>& kinds) {
  std::lock_guard lock(mu_);
  Held& h = held_[name];
  if (h.holds++ == 0) {
    ProxyCounters& c = h.counters;
    auto counter = [&h] { return own(h.counters_store, std::make_unique<prometheus::Counter>()); };
    auto gauge = [&h] { return own(h.gauges_store, std::make_unique<prometheus::Gauge>()); };
    c.accepted = counter();
    c.active = gauge();
    for (auto& closed : c.closed)
      closed = counter();
    c.connect_errors = counter();
    c.bytes_upstream = counter();
    c.bytes_downstream = counter();
    c.requests = counter();
    c.injected_delay = counter();
    c.toxics_active = gauge();
    c.overflow = counter();
    for (std::size_t side = 0; side < kTlsSides; ++side) {
      for (auto& outcome : c.tls_handshakes[side])
        outcome = counter();
      c.tls_handshake_seconds[side] = own(
          h.histograms_store, std::make_unique<prometheus::Histogram>(latency_buckets_seconds()));
    }
    for (auto& rejected : c.rejected)
      rejected = counter();
    for (auto& truncated : c.bodies_truncated)
      truncated = counter();
    c.sse_oversized = counter();
    for (auto& skipped : c.rewrites_skipped)
      skipped = counter();
    c.certs_minted = counter();
    c.cert_cache_entries = gauge();
    for (auto& outcome : c.ws_upgrades)
      outcome = counter();
    for (auto& stream : c.ws_messages)
      stream = counter();
  }
  for (const auto& kind : kinds)
    if (!h.faults.count(kind)) h.faults.emplace(kind, std::make_unique<prometheus::Counter>());
  return h.counters;
}

void ProxyMetrics::release(const std::string& name) {
  // O(log proxies): the proxy's series are owned by its entry (prometheus-cpp's Family::Remove
  // searches the whole family for each series, which made deleting a proxy linear in the number
  // of proxies: ~100 ms each with 3,000 of them).
  std::lock_guard lock(mu_);
  auto it = held_.find(name);
  if (it == held_.end() || --it->second.holds > 0) return;
  held_.erase(it);
}

prometheus::Counter* ProxyMetrics::faults(const std::string& proxy, const std::string& kind) {
  std::lock_guard lock(mu_);
  auto it = held_.find(proxy);
  // A proxy already released (a connection outliving it): counted nowhere, as its series are gone.
  if (it == held_.end()) return &detached_;
  auto& c = it->second.faults[kind];
  if (!c) c = std::make_unique<prometheus::Counter>();
  return c.get();
}

std::vector<prometheus::MetricFamily> ProxyMetrics::collect() const {
  using prometheus::MetricType;
  using Labels = std::vector<prometheus::ClientMetric::Label>;
  std::lock_guard lock(mu_);
  std::vector<prometheus::MetricFamily> out;
  // One family: `each(held, add)` calls add(series, extra labels) for each series of a proxy.
  auto family = [&](const char* name, const char* help, MetricType type, auto each) {
    prometheus::MetricFamily f;
    f.name = name;
    f.help = help;
    f.type = type;
    for (const auto& entry : held_) {  // (not [proxy, held]: clang 14 cannot capture a binding)
      const std::string& proxy = entry.first;
      each(entry.second, [&](const auto* series, Labels extra) {
        prometheus::ClientMetric m = sample(series);
        m.label.push_back({"proxy", proxy});
        for (auto& l : extra)
          m.label.push_back(std::move(l));
        // Sorted by name, as prometheus-cpp's registry printed them (clients match the text).
        std::sort(m.label.begin(), m.label.end(),
                  [](const auto& a, const auto& b) { return a.name < b.name; });
        f.metric.push_back(std::move(m));
      });
    }
    out.push_back(std::move(f));
  };
  auto one = [](auto member) {
    return [member](const Held& h, auto add) { add(h.counters.*member, {}); };
  };
  family("faultline_proxy_connections_accepted_total", "Client connections accepted.",
         MetricType::Counter, one(&ProxyCounters::accepted));
  family("faultline_proxy_connections_active", "Client connections currently open.",
         MetricType::Gauge, one(&ProxyCounters::active));
  family("faultline_proxy_connections_closed_total",
         "Proxied connections closed, by what ended them first.", MetricType::Counter,
         [](const Held& h, auto add) {
           for (std::size_t i = 0; i < kCloseReasons; ++i)
             add(h.counters.closed[i],
                 {{"reason", std::string(to_string(static_cast<CloseReason>(i)))}});
         });
  family("faultline_proxy_upstream_connect_errors_total",
         "Failed attempts to connect to the upstream.", MetricType::Counter,
         one(&ProxyCounters::connect_errors));
  family("faultline_proxy_bytes_total",
         "Bytes read by the proxy, by direction (upstream: client to server; downstream: server "
         "to client).",
         MetricType::Counter, [](const Held& h, auto add) {
           add(h.counters.bytes_downstream, {{"direction", "downstream"}});
           add(h.counters.bytes_upstream, {{"direction", "upstream"}});
         });
  family("faultline_proxy_requests_total",
         "Units faults are drawn for: HTTP requests (http), commands (redis), connections (tcp).",
         MetricType::Counter, one(&ProxyCounters::requests));
  family("faultline_proxy_faults_injected_total", "Faults injected, by behavior type (kind).",
         MetricType::Counter, [](const Held& h, auto add) {
           for (const auto& [kind, c] : h.faults)
             add(c.get(), {{"kind", kind}});
         });
  family("faultline_proxy_injected_delay_seconds_total",
         "Delay added by latency-like behaviors, in seconds.", MetricType::Counter,
         one(&ProxyCounters::injected_delay));
  family("faultline_proxy_toxics_active", "Toxics currently configured on the proxy.",
         MetricType::Gauge, one(&ProxyCounters::toxics_active));
  family("faultline_proxy_fault_overflow_total",
         "Faults not injected because max_active_faults were already active.", MetricType::Counter,
         one(&ProxyCounters::overflow));
  family("faultline_proxy_tls_handshakes_total",
         "TLS handshakes of the proxy, by side (client: terminated, upstream: originated) and "
         "outcome.",
         MetricType::Counter, [](const Held& h, auto add) {
           for (std::size_t side = 0; side < kTlsSides; ++side)
             for (std::size_t o = 0; o < kTlsOutcomes; ++o)
               add(h.counters.tls_handshakes[side][o],
                   {{"side", std::string(to_string(static_cast<TlsSide>(side)))},
                    {"outcome", std::string(to_string(static_cast<TlsOutcome>(o)))}});
         });
  family("faultline_proxy_tls_handshake_seconds",
         "Duration of the proxy's completed TLS handshakes, by side.", MetricType::Histogram,
         [](const Held& h, auto add) {
           for (std::size_t side = 0; side < kTlsSides; ++side)
             add(h.counters.tls_handshake_seconds[side],
                 {{"side", std::string(to_string(static_cast<TlsSide>(side)))}});
         });
  family("faultline_proxy_requests_rejected_total",
         "HTTP requests answered by the proxy with 400/413/431/501 and not forwarded, by reason.",
         MetricType::Counter, [](const Held& h, auto add) {
           for (std::size_t r = 0; r < kRejectReasons; ++r)
             add(h.counters.rejected[r],
                 {{"reason", std::string(to_string(static_cast<RejectReason>(r)))}});
         });
  family("faultline_proxy_bodies_truncated_total",
         "HTTP bodies ended before their end, by what cut them (upstream: it died mid-body; "
         "fault: a behavior).",
         MetricType::Counter, [](const Held& h, auto add) {
           for (std::size_t b = 0; b < kTruncatedBy; ++b)
             add(h.counters.bodies_truncated[b],
                 {{"by", std::string(to_string(static_cast<TruncatedBy>(b)))}});
         });
  family("faultline_proxy_sse_oversized_events_total",
         "Server-sent events over 1 MiB that sse_* behaviors passed through untouched.",
         MetricType::Counter, one(&ProxyCounters::sse_oversized));
  family("faultline_proxy_rewrites_skipped_total",
         "Responses http_rewrite left as they came, by reason (too_large, not_json, encoded, "
         "patch_failed).",
         MetricType::Counter, [](const Held& h, auto add) {
           for (std::size_t r = 0; r < kRewriteSkips; ++r)
             add(h.counters.rewrites_skipped[r],
                 {{"reason", std::string(to_string(static_cast<RewriteSkip>(r)))}});
         });
  family("faultline_proxy_certs_minted_total",
         "Leaf certificates minted by the proxy's CA (tls.ca), cache misses.", MetricType::Counter,
         one(&ProxyCounters::certs_minted));
  family("faultline_proxy_cert_cache_entries",
         "Minted leaf certificates cached by the proxy (at most 1024).", MetricType::Gauge,
         one(&ProxyCounters::cert_cache_entries));
  family("faultline_proxy_ws_upgrades_total",
         "WebSocket upgrades through an http proxy, by outcome (relayed, refused by the upstream, "
         "failed).",
         MetricType::Counter, [](const Held& h, auto add) {
           for (std::size_t o = 0; o < kWsOutcomes; ++o)
             add(h.counters.ws_upgrades[o],
                 {{"outcome", std::string(to_string(static_cast<WsOutcome>(o)))}});
         });
  family("faultline_proxy_ws_messages_total",
         "WebSocket messages relayed or acted on, by stream (upstream: client to server; "
         "downstream: server to client).",
         MetricType::Counter, [](const Held& h, auto add) {
           add(h.counters.ws_messages[1], {{"stream", "downstream"}});
           add(h.counters.ws_messages[0], {{"stream", "upstream"}});
         });
  return out;
}

std::string ProxyMetrics::serialize() const {
  std::ostringstream text;
  prometheus::TextSerializer().Serialize(text, collect());
  return text.str();
}

}  // namespace faultline::proxy
