// Cost of the load generator's per-response bookkeeping: Histogram::record (hot path, once per
// response per scope), and the once-a-second merge/percentile/serialize work of the coordinator.
#include <benchmark/benchmark.h>

#include <random>

#include "common/histogram.hpp"

using faultline::Histogram;

static void BM_HistogramRecord(benchmark::State& state) {
  Histogram h;
  std::mt19937_64 rng(1);
  std::vector<std::int64_t> values(4096);
  std::lognormal_distribution<double> dist(14, 1.5);  // ~1 ms median, long tail
  for (auto& v : values)
    v = static_cast<std::int64_t>(dist(rng));
  std::size_t i = 0;
  for (auto _ : state) {
    h.record(std::chrono::nanoseconds(values[i++ & 4095]));
  }
  benchmark::DoNotOptimize(h.count());
}
BENCHMARK(BM_HistogramRecord);

static Histogram filled() {
  Histogram h;
  std::mt19937_64 rng(2);
  std::lognormal_distribution<double> dist(14, 1.5);
  for (int i = 0; i < 100000; ++i)
    h.record(std::chrono::nanoseconds(static_cast<std::int64_t>(dist(rng))));
  return h;
}

static void BM_HistogramMerge(benchmark::State& state) {
  const Histogram src = filled();
  Histogram dst;
  for (auto _ : state)
    dst.merge(src);
  benchmark::DoNotOptimize(dst.count());
}
BENCHMARK(BM_HistogramMerge);

static void BM_HistogramPercentiles(benchmark::State& state) {
  const Histogram h = filled();
  for (auto _ : state) {
    double s = 0;
    for (double p : {50.0, 90.0, 99.0, 99.9, 99.99})
      s += h.percentile_seconds(p);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_HistogramPercentiles);

static void BM_HistogramToJson(benchmark::State& state) {
  const Histogram h = filled();
  for (auto _ : state)
    benchmark::DoNotOptimize(h.to_json().dump());
}
BENCHMARK(BM_HistogramToJson);

BENCHMARK_MAIN();
