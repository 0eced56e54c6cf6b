// HDR log-linear bucketing: counter index = (power-of-two bucket, linear sub-bucket). With 2048
// sub-buckets per power of two (1024 distinct in every bucket but the first), any value is kept to
// within 1/1024 < 0.1 % of itself, i.e. 3 significant digits. Unit is 1 ns so the precision holds
// down to the 1 µs floor; 32 buckets reach past 1 h.
#include "common/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

namespace faultline {
namespace {

constexpr int kSubBucketCountMagnitude = 11;  // ceil(log2(2 * 10^3))
constexpr std::int64_t kSubBucketCount = std::int64_t{1} << kSubBucketCountMagnitude;  // 2048
constexpr int kSubBucketHalfCountMagnitude = kSubBucketCountMagnitude - 1;
constexpr std::int64_t kSubBucketHalfCount = kSubBucketCount / 2;  // 1024
constexpr std::uint64_t kSubBucketMask = static_cast<std::uint64_t>(kSubBucketCount - 1);

constexpr int bucket_count() {
  // Buckets needed so that the highest trackable value is ≥ kHighestNs.
  std::int64_t smallest_untrackable = kSubBucketCount;
  int buckets = 1;
  while (smallest_untrackable <= Histogram::kHighestNs) {
    smallest_untrackable <<= 1;
    ++buckets;
  }
  return buckets;
}
constexpr std::size_t kCountsLen =
    static_cast<std::size_t>(bucket_count() + 1) * static_cast<std::size_t>(kSubBucketHalfCount);

constexpr int kFormatVersion = 2;

std::int64_t clamp_ns(std::int64_t v) {
  return std::clamp(v, Histogram::kLowestNs, Histogram::kHighestNs);
}

}  // namespace

std::size_t Histogram::counts_len() noexcept {
  return kCountsLen;
}

std::size_t Histogram::index_of(std::int64_t value_ns) noexcept {
  const auto v = static_cast<std::uint64_t>(clamp_ns(value_ns));
  const int bit_length = 64 - std::countl_zero(v | kSubBucketMask);
  const int bucket = bit_length - (kSubBucketHalfCountMagnitude + 1);
  const auto sub_bucket = static_cast<std::int64_t>(v >> bucket);
  return static_cast<std::size_t>(
      (static_cast<std::int64_t>(bucket + 1) << kSubBucketHalfCountMagnitude) +
      (sub_bucket - kSubBucketHalfCount));
}

namespace {
void split_index(std::size_t index, int& bucket, std::int64_t& sub_bucket) {
  const auto i = static_cast<std::int64_t>(index);
  if (i < kSubBucketHalfCount) {
    bucket = 0;
    sub_bucket = i;
  } else {
    bucket = static_cast<int>((i >> kSubBucketHalfCountMagnitude) - 1);
    sub_bucket = (i & (kSubBucketHalfCount - 1)) + kSubBucketHalfCount;
  }
}
}  // namespace

std::int64_t Histogram::lowest_equivalent(std::size_t index) noexcept {
  int bucket = 0;
  std::int64_t sub_bucket = 0;
  split_index(index, bucket, sub_bucket);
  return sub_bucket << bucket;
}

std::int64_t Histogram::highest_equivalent(std::size_t index) noexcept {
  int bucket = 0;
  std::int64_t sub_bucket = 0;
  split_index(index, bucket, sub_bucket);
  return (sub_bucket << bucket) + (std::int64_t{1} << bucket) - 1;
}

Histogram::Histogram() : counts_(kCountsLen, 0) {}

void Histogram::record(std::chrono::nanoseconds value, std::uint64_t count) {
  if (count == 0) return;
  const std::int64_t v = clamp_ns(value.count());
  counts_[index_of(v)] += count;
  if (total_ == 0) {
    min_ns_ = max_ns_ = v;
  } else {
    min_ns_ = std::min(min_ns_, v);
    max_ns_ = std::max(max_ns_, v);
  }
  total_ += count;
  sum_ns_ += static_cast<double>(v) * static_cast<double>(count);
}

void Histogram::merge(const Histogram& other) {
  if (other.total_ == 0) return;
  for (std::size_t i = 0; i < kCountsLen; ++i)
    counts_[i] += other.counts_[i];
  if (total_ == 0) {
    min_ns_ = other.min_ns_;
    max_ns_ = other.max_ns_;
  } else {
    min_ns_ = std::min(min_ns_, other.min_ns_);
    max_ns_ = std::max(max_ns_, other.max_ns_);
  }
  total_ += other.total_;
  sum_ns_ += other.sum_ns_;
}

void Histogram::reset() {
  if (total_ == 0) return;
  std::fill(counts_.begin(), counts_.end(), 0);
  total_ = 0;
  min_ns_ = max_ns_ = 0;
  sum_ns_ = 0;
}

std::chrono::nanoseconds Histogram::min() const noexcept {
  return std::chrono::nanoseconds(total_ ? min_ns_ : 0);
}

std::chrono::nanoseconds Histogram::max() const noexcept {
  return std::chrono::nanoseconds(total_ ? max_ns_ : 0);
}

double Histogram::mean_seconds() const noexcept {
  return total_ ? sum_ns_ / static_cast<double>(total_) / 1e9 : 0.0;
}

double Histogram::percentile_seconds(double p) const noexcept {
  if (total_ == 0) return 0.0;
  if (!(p > 0)) return static_cast<double>(min_ns_) / 1e9;  // also catches NaN
  p = std::min(p, 100.0);
  // The rank of the sample the percentile names (HdrHistogram's rounding), at least the first.
  auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(total_)));
  rank = std::clamp<std::uint64_t>(rank, 1, total_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kCountsLen; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const std::int64_t v = std::clamp(highest_equivalent(i), min_ns_, max_ns_);
      return static_cast<double>(v) / 1e9;
    }
  }
  return static_cast<double>(max_ns_) / 1e9;
}

json Histogram::to_json() const {
  json buckets = json::array();
  std::size_t previous = 0;
  for_each_bucket([&](std::size_t i, std::uint64_t count) {
    buckets.push_back(i - previous);
    buckets.push_back(count);
    previous = i;
  });
  return json{{"v", kFormatVersion},
              {"lowest_ns", kLowestNs},
              {"highest_ns", kHighestNs},
              {"digits", kSignificantDigits},
              {"count", total_},
              {"min_ns", total_ ? min_ns_ : 0},
              {"max_ns", total_ ? max_ns_ : 0},
              {"sum_ns", sum_ns_},
              {"buckets", std::move(buckets)}};
}

Histogram Histogram::from_json(const json& j) {
  auto fail = [](const std::string& what) { throw ConfigError("histogram: " + what); };
  if (!j.is_object()) fail("expected an object");
  auto integer = [&](const char* key) -> std::int64_t {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer())
      fail(std::string("\"") + key + "\" must be an integer");
    return it->get<std::int64_t>();
  };
  const std::int64_t version = integer("v");
  if (version != 1 && version != kFormatVersion)
    fail("unsupported format version " + std::to_string(version));
  if (integer("lowest_ns") != kLowestNs || integer("highest_ns") != kHighestNs ||
      integer("digits") != kSignificantDigits)
    fail("different layout (lowest_ns/highest_ns/digits)");
  const auto it = j.find("buckets");
  if (it == j.end() || !it->is_array() || it->size() % 2 != 0)
    fail("\"buckets\" must be an array of index,count pairs");
  Histogram h;
  std::uint64_t total = 0;
  std::size_t previous = 0;
  bool first = true;
  for (std::size_t k = 0; k < it->size(); k += 2) {
    const json& idx = (*it)[k];
    const json& cnt = (*it)[k + 1];
    if (!idx.is_number_unsigned() || !cnt.is_number_unsigned())
      fail("bucket entries must be non-negative integers");
    const auto raw = idx.get<std::uint64_t>();
    const auto count = cnt.get<std::uint64_t>();
    if (raw >= kCountsLen) fail("bucket index " + std::to_string(raw) + " out of range");
    // Version 1: absolute indices; version 2: the gap from the previous index (> 0 after the
    // first).
    const std::uint64_t index = version == 1 ? raw : (first ? raw : previous + raw);
    if (index >= kCountsLen) fail("bucket index " + std::to_string(index) + " out of range");
    if (!first && index <= previous) fail("bucket indices must be strictly ascending");
    first = false;
    previous = static_cast<std::size_t>(index);
    h.counts_[previous] = count;
    total += count;
  }
  if (static_cast<std::int64_t>(total) != integer("count"))
    fail("\"count\" does not match the bucket counts");
  h.total_ = total;
  if (total > 0) {
    h.min_ns_ = integer("min_ns");
    h.max_ns_ = integer("max_ns");
    if (h.min_ns_ < kLowestNs || h.max_ns_ > kHighestNs || h.min_ns_ > h.max_ns_)
      fail("min_ns/max_ns out of range");
    const auto sit = j.find("sum_ns");
    if (sit == j.end() || !sit->is_number() || sit->get<double>() < 0)
      fail("\"sum_ns\" must be a non-negative number");
    h.sum_ns_ = sit->get<double>();
  }
  return h;
}

}  // namespace faultline
