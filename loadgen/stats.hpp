// Counters and latency histograms of one scope (the whole run, a stage, a second, a request
// name), the error taxonomy, and their stable JSON form shared by --out, --intervals-out and
// `faultline report merge`.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.hpp"
#include "common/histogram.hpp"

namespace faultline::loadgen {

enum class Outcome : std::uint8_t {
  ok,
  connect_refused,
  connect_timeout,
  reset,
  read_timeout,
  http_4xx,
  http_5xx,
  bad_response,
  // Not sent: a captured value would have put CR, LF or NUL into a header (request splitting).
  invalid_request,
  // WebSocket sessions: the server's close frame came while this message awaited its reply.
  closed,
};
inline constexpr std::size_t kErrorKinds = 9;            // every Outcome but ok
const char* error_kind_name(std::size_t kind) noexcept;  // kind = Outcome - 1
std::optional<std::size_t> error_kind_from_name(std::string_view name) noexcept;
// Latency is recorded only for requests that got an HTTP response (any status).
inline bool has_response(Outcome o) noexcept {
  return o == Outcome::ok || o == Outcome::http_4xx || o == Outcome::http_5xx;
}

struct Stats {
  std::uint64_t total = 0;
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  std::array<std::uint64_t, kErrorKinds> errors{};
  Histogram latency;      // from the intended send time (coordinated-omission corrected)
  Histogram uncorrected;  // from the actual send time

  void record(Outcome outcome, std::chrono::nanoseconds corrected, std::chrono::nanoseconds actual);
  void merge(const Stats& other);
  void reset();

  // {"requests":{total,ok,failed},"errors":{kind:n...},"throughput_rps",
  //  "latency_seconds":{p50,p90,p99,p999,p9999,max,mean},"latency_uncorrected_seconds":{...},
  //  ["histograms":{"latency":..,"latency_uncorrected":..}]}
  json to_json(double duration_seconds, bool with_histograms) const;
  // Reads counters and histograms back from to_json(.., true); throws ConfigError.
  static Stats from_json(const json& j, std::string_view path);
};

json latency_summary(const Histogram& h);

// TLS handshakes of an https run (the results' "tls" object), counted and timed apart from request
// latency: one per new connection, from the first ClientHello byte to the verified peer's
// Finished. A request that opened a connection still includes its handshake in its latency.
struct HandshakeStats {
  std::uint64_t total = 0;   // attempted
  std::uint64_t failed = 0;  // of `total`: refused certificate, alert, reset or timeout
  Histogram duration;        // successful handshakes only

  void record(bool ok, std::chrono::nanoseconds took);
  void merge(const HandshakeStats& other);
  // {"handshakes","failed","handshake_seconds":{p50,...,mean},"histogram":{...}}
  json to_json() const;
  // Reads to_json() back; throws ConfigError naming `path`.
  static HandshakeStats from_json(const json& j, std::string_view path);
};

// What happened to the arrivals of one scope (the run or a stage). Open model: offered = sent +
// dropped + unsent once the run is over. Closed and max models: offered = sent = iterations
// started, the rest 0.
struct ScheduleCounts {
  std::uint64_t offered = 0;  // arrivals released by the scheduler (closed/max: iterations)
  std::uint64_t sent = 0;     // handed to a connection (a flow counts once, for its first step)
  std::uint64_t late = 0;     // of `sent`: waited in the backlog for a free connection first
  std::uint64_t dropped = 0;  // not sent: the backlog was full
  std::uint64_t unsent = 0;   // not sent: still queued, or due and not released, at the end

  ScheduleCounts& operator+=(const ScheduleCounts& o) noexcept;
  std::uint64_t never_sent() const noexcept { return dropped + unsent; }
  // {"offered","sent","late","dropped","unsent","late_ratio","unsent_ratio"}: late_ratio =
  // late / sent, unsent_ratio = (unsent + dropped) / offered, null when the denominator is 0.
  json to_json() const;
  // Reads the counters back from a results "schedule" object (missing ones are 0; a missing
  // `sent`, from an older file, is offered - dropped - unsent).
  static ScheduleCounts from_json(const json& j);
};

// What became of the WebSocket or SSE sessions of one workload entry (one iteration = one
// session). opened: the handshake (WebSocket) or the response head (SSE) succeeded; each opened
// session ends once, as completed (its whole plan, or cut by the end of the run) or ended_early
// (a close frame, EOF, a reset, a timeout, a malformed frame or body before its plan was
// through); reconnects: sessions opened after the same user's (connection's) previous session
// ended early; close_codes: the close frames the server started, by code (1005: no code).
struct SessionCounts {
  std::uint64_t opened = 0;
  std::uint64_t completed = 0;
  std::uint64_t ended_early = 0;
  std::uint64_t reconnects = 0;
  std::map<std::uint16_t, std::uint64_t> close_codes;

  SessionCounts& operator+=(const SessionCounts& o);
  bool empty() const noexcept {
    return opened == 0 && completed == 0 && ended_early == 0 && reconnects == 0 &&
           close_codes.empty();
  }
  // {"opened","completed","ended_early","reconnects","close_codes":{"1012":N}}: the shape of
  // results' and interval lines' "sessions" objects (by entry name).
  json to_json() const;
  // Reads to_json() back (missing counters are 0; codes outside 0..65535 are skipped).
  static SessionCounts from_json(const json& j);
};
// {"NAME": SessionCounts::to_json(), ...} over `names` (counts[i] is names[i]'s; missing = 0).
json sessions_to_json(const std::vector<std::string>& names,
                      const std::vector<SessionCounts>& counts);

// Counts arrivals never sent (`never_sent` = unsent + dropped) as failed requests of kind
// "unsent" in a results scope (`j` from Stats::to_json): sets requests.unsent, errors.unsent and
// error_ratio = (failed + never_sent) / (total + never_sent) (null when that is 0 / 0).
// requests.total, ok and failed stay what went over the wire.
void add_never_sent(json& j, std::uint64_t never_sent);

}  // namespace faultline::loadgen
