// Counters and latency histograms of one scope (the whole run, a stage, a second, a request
// name), the error taxonomy, and their stable JSON form shared by --out, --intervals-out and
// `faultline report merge`.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

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
};
inline constexpr std::size_t kErrorKinds = 7;            // every Outcome but ok
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

}  // namespace faultline::loadgen
