// An HDR-style log-linear latency histogram (after Gil Tene's HdrHistogram): values from 1 µs to
// 1 h at 3 significant digits in fixed memory (24576 counters, ~192 KiB), so recording is O(1),
// nothing grows per sample, and two histograms merge losslessly by adding counters. Used by the
// load generator (one per thread and per interval, recycled) and by the scenario runner (merging
// per-second histograms into per-phase ones). Not thread-safe: give each thread its own and merge.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "common/config.hpp"

namespace faultline {

class Histogram {
 public:
  // Fixed layout parameters; they are part of the serialized format and checked by from_json.
  static constexpr std::int64_t kLowestNs = 1000;                  // 1 µs
  static constexpr std::int64_t kHighestNs = 3'600'000'000'000LL;  // 1 h
  static constexpr int kSignificantDigits = 3;

  Histogram();

  // Records `count` samples of `value`; values outside [1 µs, 1 h] are clamped to the range.
  void record(std::chrono::nanoseconds value, std::uint64_t count = 1);
  // Adds every sample of `other` (exact: same layout, counters added).
  void merge(const Histogram& other);
  void reset();

  std::uint64_t count() const noexcept { return total_; }
  bool empty() const noexcept { return total_ == 0; }
  // Exact extremes of the (clamped) recorded values; 0 when empty.
  std::chrono::nanoseconds min() const noexcept;
  std::chrono::nanoseconds max() const noexcept;
  // Exact mean of the (clamped) recorded values; 0 when empty.
  double mean_seconds() const noexcept;
  // The value at or below which p percent of the samples fall (p in [0,100], clamped), reported as
  // the highest value equivalent to that sample's bucket (never above max()); 0 when empty.
  // Relative error ≤ 0.1 % (3 significant digits).
  double percentile_seconds(double p) const noexcept;

  // Compact, sparse, stable format:
  // {"v":2,"lowest_ns":1000,"highest_ns":3600000000000,"digits":3,"count":N,"min_ns":..,
  //  "max_ns":..,"sum_ns":..,"buckets":[gap,count,gap,count,...]} (only non-zero counters; a
  //  counter's index is the previous one's plus its gap, the first gap from 0). Version 1 wrote
  //  absolute indices ([index,count,...]); from_json reads both. Gaps are short numbers that
  //  repeat, which makes a day of per-second histograms ~2.8x smaller once gzipped.
  json to_json() const;
  // Throws ConfigError (message says what is wrong) on malformed input or another layout.
  static Histogram from_json(const json& j);
  // Calls fn(index, count) for every non-zero counter in ascending index order.
  template <typename Fn>
  void for_each_bucket(Fn&& fn) const {
    if (total_ == 0) return;
    for (std::size_t i = 0; i < counts_.size(); ++i)
      if (counts_[i] != 0) fn(i, counts_[i]);
  }

  // Layout internals, public for tests.
  static std::size_t counts_len() noexcept;
  static std::size_t index_of(std::int64_t value_ns) noexcept;
  // Lowest and highest value (ns) that land in counter `index`.
  static std::int64_t lowest_equivalent(std::size_t index) noexcept;
  static std::int64_t highest_equivalent(std::size_t index) noexcept;

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
  std::int64_t min_ns_ = 0;  // valid when total_ > 0
  std::int64_t max_ns_ = 0;
  double sum_ns_ = 0;  // double: 1 h × 10^9 samples overflows 64-bit integers
};

}  // namespace faultline
