// The faultline_proxy_* metrics (documented in METRICS.md): families registered once, and the
// pre-created label values of one proxy, so every series exists (at 0) as soon as its proxy or
// toxic does.
#pragma once

#include <array>
#include <map>
#include <memory>
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
  tls_failed,               // a TLS handshake (with the client or the upstream) failed
};
inline constexpr std::size_t kCloseReasons = 7;
std::string_view to_string(CloseReason r);

// TLS handshakes: which side of the proxy (`side`: client = the proxy terminates TLS from its
// client, upstream = the proxy originates TLS to its upstream) and how each ended (`outcome`).
enum class TlsSide { client, upstream };
inline constexpr std::size_t kTlsSides = 2;
enum class TlsOutcome {
  ok,       // completed
  failed,   // a protocol or verification error, or the peer closed during the handshake
  timeout,  // not completed within --tls-handshake-timeout
  fault,    // failed on purpose by a certificate-chaos toxic (tls_alert)
};
inline constexpr std::size_t kTlsOutcomes = 4;
std::string_view to_string(TlsSide s);
std::string_view to_string(TlsOutcome o);

// HTTP requests the proxy answered itself and did not forward (the `reason` label; a closed set).
enum class RejectReason {
  malformed,  // 400: the head or body does not parse, or uses obsolete line folding
  framing,    // 400/501: Transfer-Encoding with Content-Length, a final coding not chunked,
              // conflicting Content-Lengths (request smuggling)
  too_large,  // 431/413: the head or the body over the proxy's limits
};
inline constexpr std::size_t kRejectReasons = 3;
std::string_view to_string(RejectReason r);

// HTTP bodies the proxy ended before their end (the `by` label): the upstream died mid-body, or a
// behavior cut it (http_body_truncate).
enum class TruncatedBy { upstream, fault };
inline constexpr std::size_t kTruncatedBy = 2;
std::string_view to_string(TruncatedBy b);

// Why http_rewrite left a response as it came (faultline_proxy_rewrites_skipped_total{reason}).
enum class RewriteSkip { too_large, not_json, encoded, patch_failed };
inline constexpr std::size_t kRewriteSkips = 4;
std::string_view to_string(RewriteSkip r);
// WebSocket upgrades through an http proxy (the `outcome` label): relayed (both handshakes done),
// refused (the upstream declined the upgrade: its answer relayed), failed (the upstream could not
// be reached or its handshake failed, the client's handshake failed, or a fault cut it).
enum class WsOutcome { relayed, refused, failed };
inline constexpr std::size_t kWsOutcomes = 3;
std::string_view to_string(WsOutcome o);

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
  // faultline_proxy_tls_handshakes_total[side][outcome], faultline_proxy_tls_handshake_seconds.
  std::array<std::array<prometheus::Counter*, kTlsOutcomes>, kTlsSides> tls_handshakes{};
  std::array<prometheus::Histogram*, kTlsSides> tls_handshake_seconds{};
  // faultline_proxy_requests_rejected_total[reason] (http proxies; pre-created for every proxy).
  std::array<prometheus::Counter*, kRejectReasons> rejected{};
  // faultline_proxy_bodies_truncated_total[by] (http proxies; pre-created for every proxy).
  std::array<prometheus::Counter*, kTruncatedBy> bodies_truncated{};
  // faultline_proxy_sse_oversized_events_total (events over 1 MiB that sse_* let pass).
  prometheus::Counter* sse_oversized = nullptr;
  // faultline_proxy_rewrites_skipped_total[reason] (http_rewrite; pre-created for every proxy).
  std::array<prometheus::Counter*, kRewriteSkips> rewrites_skipped{};
  // faultline_proxy_certs_minted_total, faultline_proxy_cert_cache_entries (`tls.ca`).
  prometheus::Counter* certs_minted = nullptr;
  prometheus::Gauge* cert_cache_entries = nullptr;
  // faultline_proxy_ws_upgrades_total[outcome], faultline_proxy_ws_messages_total[stream]
  // (upstream: 0, downstream: 1) (http proxies; pre-created for every proxy).
  std::array<prometheus::Counter*, kWsOutcomes> ws_upgrades{};
  std::array<prometheus::Counter*, 2> ws_messages{};
};

// Every faultline_proxy_* series, owned per proxy: creating or deleting a proxy costs O(log
// proxies), and a scrape walks them all. They are not in the prometheus-cpp registry (whose
// Family::Remove is linear in the family's size); GET /metrics appends serialize() to it.
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
  // faultline_proxy_faults_injected_total{proxy, kind} (a counter exported nowhere once the proxy
  // is released).
  prometheus::Counter* faults(const std::string& proxy, const std::string& kind);
  // The faultline_proxy_* families with every held proxy's series (sorted by proxy name).
  std::vector<prometheus::MetricFamily> collect() const;
  // collect() in the text exposition format.
  std::string serialize() const;

 private:
  struct Held {
    int holds = 0;
    ProxyCounters counters;  // points into the stores below
    std::vector<std::unique_ptr<prometheus::Counter>> counters_store;
    std::vector<std::unique_ptr<prometheus::Gauge>> gauges_store;
    std::vector<std::unique_ptr<prometheus::Histogram>> histograms_store;
    std::map<std::string, std::unique_ptr<prometheus::Counter>> faults;
  };
  Metrics& metrics_;
  mutable std::mutex mu_;
  std::map<std::string, Held> held_;
  prometheus::Counter detached_;
};

}  // namespace faultline::proxy
