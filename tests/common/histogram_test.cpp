// Histogram: bucketing precision (3 significant digits over 1 µs..1 h), percentile math against
// exact sorted samples, lossless merge, JSON round trip and rejection of malformed JSON.
#include "common/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using namespace faultline;
using namespace std::chrono_literals;

namespace {
double exact_percentile(std::vector<std::int64_t> v, double p) {
  std::sort(v.begin(), v.end());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  rank = std::clamp<std::size_t>(rank, 1, v.size());
  return static_cast<double>(v[rank - 1]) / 1e9;
}
}  // namespace

TEST(Histogram, EmptyIsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0ns);
  EXPECT_EQ(h.max(), 0ns);
  EXPECT_EQ(h.mean_seconds(), 0.0);
  EXPECT_EQ(h.percentile_seconds(99), 0.0);
}

TEST(Histogram, LayoutCoversRangeWithThreeDigits) {
  EXPECT_LT(Histogram::index_of(Histogram::kHighestNs), Histogram::counts_len());
  // Every counter's value range is within 0.1 % of its lowest value, from 1 µs to 1 h.
  const std::size_t first = Histogram::index_of(Histogram::kLowestNs);
  const std::size_t last = Histogram::index_of(Histogram::kHighestNs);
  for (std::size_t i = first; i <= last; ++i) {
    const auto lo = Histogram::lowest_equivalent(i);
    const auto hi = Histogram::highest_equivalent(i);
    ASSERT_LE(lo, hi);
    ASSERT_LE(static_cast<double>(hi - lo + 1) / static_cast<double>(lo), 0.001) << i;
    ASSERT_EQ(Histogram::index_of(lo), i);
    ASSERT_EQ(Histogram::index_of(hi), i);
  }
  // Monotone mapping on a sample of values.
  std::size_t prev = 0;
  for (std::int64_t v = 1000; v < Histogram::kHighestNs; v = v + v / 7 + 1) {
    const auto i = Histogram::index_of(v);
    ASSERT_GE(i, prev);
    prev = i;
  }
}

TEST(Histogram, ClampsOutOfRange) {
  Histogram h;
  h.record(10ns);
  h.record(std::chrono::hours(5));
  EXPECT_EQ(h.min(), 1us);
  EXPECT_EQ(h.max(), std::chrono::nanoseconds(1h));
  EXPECT_EQ(h.count(), 2u);
}

TEST(Histogram, PercentilesMatchExactWithinPrecision) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(std::log(2e6), 1.2);  // ~2 ms median, long tail
  Histogram h;
  std::vector<std::int64_t> values;
  for (int i = 0; i < 200000; ++i) {
    auto v =
        std::clamp<std::int64_t>(static_cast<std::int64_t>(dist(rng)), 1000, Histogram::kHighestNs);
    values.push_back(v);
    h.record(std::chrono::nanoseconds(v));
  }
  for (double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const double exact = exact_percentile(values, p);
    EXPECT_NEAR(h.percentile_seconds(p), exact, exact * 0.001) << "p" << p;
  }
  double sum = 0;
  for (auto v : values)
    sum += static_cast<double>(v);
  EXPECT_NEAR(h.mean_seconds(), sum / static_cast<double>(values.size()) / 1e9, 1e-12);
  EXPECT_EQ(h.max().count(), *std::max_element(values.begin(), values.end()));
  EXPECT_EQ(h.min().count(), *std::min_element(values.begin(), values.end()));
}

TEST(Histogram, PercentileMathOnSmallSets) {
  Histogram h;
  for (int ms = 1; ms <= 100; ++ms)
    h.record(std::chrono::milliseconds(ms));
  EXPECT_NEAR(h.percentile_seconds(50), 0.050, 0.050 * 0.001);
  EXPECT_NEAR(h.percentile_seconds(90), 0.090, 0.090 * 0.001);
  EXPECT_NEAR(h.percentile_seconds(99), 0.099, 0.099 * 0.001);
  EXPECT_DOUBLE_EQ(h.percentile_seconds(100), 0.100);
  EXPECT_DOUBLE_EQ(h.percentile_seconds(0), 0.001);
  EXPECT_NEAR(h.mean_seconds(), 0.0505, 1e-12);
  // Weighted record == repeated record.
  Histogram a, b;
  a.record(5ms, 7);
  for (int i = 0; i < 7; ++i)
    b.record(5ms);
  EXPECT_EQ(a.to_json(), b.to_json());
}

TEST(Histogram, MergeIsLossless) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::int64_t> dist(1000, 5'000'000'000);
  Histogram all, parts[3];
  for (int i = 0; i < 30000; ++i) {
    auto v = std::chrono::nanoseconds(dist(rng));
    all.record(v);
    parts[i % 3].record(v);
  }
  Histogram merged;
  for (auto& p : parts)
    merged.merge(p);
  EXPECT_EQ(merged.to_json(), all.to_json());
  for (double p : {50.0, 99.0, 99.9})
    EXPECT_DOUBLE_EQ(merged.percentile_seconds(p), all.percentile_seconds(p));
  Histogram empty;
  merged.merge(empty);
  EXPECT_EQ(merged.count(), all.count());
}

TEST(Histogram, ResetRecycles) {
  Histogram h;
  h.record(3ms);
  h.reset();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.to_json()["buckets"].size(), 0u);
  h.record(1ms);
  EXPECT_EQ(h.min(), 1ms);
}

TEST(Histogram, JsonRoundTripIsExactAndSparse) {
  Histogram h;
  h.record(1ms, 10);
  h.record(250ms, 3);
  h.record(2s);
  const json j = h.to_json();
  EXPECT_EQ(j["buckets"].size(), 6u);  // three non-zero counters
  const Histogram back = Histogram::from_json(json::parse(j.dump()));
  EXPECT_EQ(back.to_json(), j);
  EXPECT_EQ(back.count(), 14u);
  EXPECT_DOUBLE_EQ(back.percentile_seconds(99), h.percentile_seconds(99));
  EXPECT_DOUBLE_EQ(back.mean_seconds(), h.mean_seconds());
  const Histogram empty = Histogram::from_json(Histogram().to_json());
  EXPECT_EQ(empty.count(), 0u);
}

TEST(Histogram, JsonStoresGapsAndReadsVersionOne) {
  Histogram h;
  h.record(1ms, 10);
  h.record(250ms, 3);
  const json j = h.to_json();
  EXPECT_EQ(j["v"], 2);
  const auto i1 = Histogram::index_of(1'000'000), i2 = Histogram::index_of(250'000'000);
  EXPECT_EQ(j["buckets"], json::array({i1, 10u, i2 - i1, 3u}));
  json v1 = j;
  v1["v"] = 1;
  v1["buckets"] = json::array({i1, 10u, i2, 3u});  // version 1: absolute indices
  const Histogram back = Histogram::from_json(v1);
  EXPECT_EQ(back.to_json(), j);
}

TEST(Histogram, FromJsonRejectsMalformed) {
  Histogram h;
  h.record(1ms);
  const json good = h.to_json();
  auto broken = [&](auto mutate) {
    json j = good;
    mutate(j);
    return j;
  };
  const std::vector<json> bad = {
      json::array(),
      broken([](json& j) { j["v"] = 3; }),
      broken([](json& j) { j["digits"] = 2; }),
      broken([](json& j) { j["buckets"] = json::array({1}); }),
      broken([](json& j) {
        j["buckets"] = json::array({99999999, 1});
      }),
      broken([](json& j) {
        j["buckets"] = json::array({5, 1, 0, 1});  // a gap of 0: the same counter twice
        j["count"] = 2;
      }),
      broken([](json& j) {
        j["v"] = 1;
        j["buckets"] = json::array({5, 1, 5, 1});
        j["count"] = 2;
      }),
      broken([](json& j) {
        j["buckets"] = json::array({Histogram::counts_len() - 1, 1, 1, 1});
        j["count"] = 2;
      }),
      broken([](json& j) {
        j["buckets"] = json::array({5, -1});
      }),
      broken([](json& j) { j["count"] = 2; }),
      broken([](json& j) { j.erase("sum_ns"); }),
      broken([](json& j) { j["min_ns"] = 5; }),
  };
  for (const auto& j : bad)
    EXPECT_THROW(Histogram::from_json(j), ConfigError) << j.dump();
}
