// The runner's own memory stays bounded on a 24-hour soak: a Collector fed 86,400 seconds of
// realistic interval lines (HDR histograms overall and for 3 request names, the open-model
// schedule) plus per-second resource samples of 3 components, over 12 phases, then finish() and
// the series assertions evaluated. Checks peak RSS growth < 256 MiB and wall time < 60 s, and
// prints the measured figures.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "common/histogram.hpp"
#include "runner/assertions/assertion.hpp"
#include "runner/ledger/collector.hpp"

using namespace faultline;
using namespace faultline::runner;

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// A "VmRSS:" / "VmHWM:" figure of /proc/self/status, in bytes (0 when unreadable).
double proc_status_bytes(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) return std::stod(line.substr(key.size() + 1)) * 1024;
  return 0;
}

// Latencies around 2 ms with a tail, like a healthy service: ~100-200 distinct buckets per
// second, as the load generator writes them.
Histogram latencies(std::mt19937_64& rng, std::uint64_t n) {
  std::lognormal_distribution<double> d(std::log(2e6), 0.6);
  Histogram h;
  for (std::uint64_t i = 0; i < n; ++i)
    h.record(std::chrono::nanoseconds(static_cast<std::int64_t>(d(rng))));
  return h;
}

json line_template(std::mt19937_64& rng) {
  const std::uint64_t per_name[] = {600, 300, 100};
  const char* names[] = {"get_paste", "create_paste", "list_pastes"};
  Histogram all;
  json by = json::object();
  std::uint64_t total = 0;
  for (int i = 0; i < 3; ++i) {
    Histogram h = latencies(rng, per_name[i]);
    all.merge(h);
    total += per_name[i];
    by[names[i]] = {
        {"total", per_name[i]}, {"ok", per_name[i] - 1}, {"failed", 1}, {"histogram", h.to_json()}};
  }
  json lat = {{"p50", all.percentile_seconds(50)}, {"p99", all.percentile_seconds(99)}};
  return {
      {"requests", {{"total", total}, {"ok", total - 3}, {"failed", 3}}},
      {"errors", {{"connect", 0}, {"timeout", 0}, {"http_4xx", 0}, {"http_5xx", 3}, {"reset", 0}}},
      {"throughput_rps", total},
      {"latency_seconds", lat},
      {"latency_uncorrected_seconds", lat},
      {"histogram", all.to_json()},
      {"in_flight", 12},
      {"backlog", 0},
      {"offered_rps", total},
      {"stage", 0},
      {"schedule",
       {{"offered", total}, {"sent", total}, {"late", 2}, {"dropped", 0}, {"backlog", 0}}},
      {"requests_by_name", std::move(by)}};
}

}  // namespace

TEST(CollectorSoak, DayOfIntervalsStaysBoundedInMemoryAndTime) {
  // Under the sanitizers (where memory and time are not measured) a quarter of the day runs the
  // same code: the full day took ~5 minutes under ASan + UBSan, for no finding a quarter misses.
  constexpr int kSeconds = kSanitized ? 21'600 : 86'400;
  constexpr int kPhases = 12;
  std::mt19937_64 rng(42);
  // A pool of distinct seconds, reused with new timestamps (generating 86,400 histograms would
  // measure the test, not the collector).
  // Serialized without "t", which each line gets in front (the orchestrator parses text lines).
  std::vector<std::string> pool;
  for (int i = 0; i < 32; ++i)
    pool.push_back(line_template(rng).dump().substr(1));
  std::vector<PhaseWindow> windows;
  for (int k = 0; k < kPhases; ++k)
    windows.push_back({k % 2 ? "fault" : "steady", k * (kSeconds / kPhases) * 1.0, k % 2 == 1});
  const PromSnapshot scrape = PromSnapshot::parse(
      "faultline_proxy_requests_total{proxy=\"front\"} 1000\n"
      "faultline_proxy_faults_injected_total{proxy=\"front\",kind=\"http_error\"} 10\n"
      "process_resident_memory_bytes 5e7\nprocess_open_fds 40\n");

  const double rss_before = proc_status_bytes("VmRSS");
  const auto t0 = std::chrono::steady_clock::now();
  Collector c(windows, kSeconds, 0.1, {"front"});
  for (int s = 1; s <= kSeconds; ++s) {
    const auto k = static_cast<std::size_t>((s - 1) / (kSeconds / kPhases));
    if ((s - 1) % (kSeconds / kPhases) == 0)
      for (const char* comp : {"target", "proxy", "load"})
        c.set_boundary(k, s - 1.0, comp, scrape);
    c.add_interval(json::parse("{\"t\":" + std::to_string(s) + "," +
                               pool[static_cast<std::size_t>(s) % pool.size()]));
    const double drift = s * 10.0;
    c.add_resources(s - 0.5, {{"target_rss_bytes", 5e7 + drift},
                              {"target_open_fds", 40},
                              {"proxy_rss_bytes", 2e7},
                              {"proxy_open_fds", 30},
                              {"load_rss_bytes", 3e7},
                              {"load_open_fds", 70}});
  }
  for (const char* comp : {"target", "proxy", "load"})
    c.set_boundary(kPhases, kSeconds, comp, scrape);
  const auto t1 = std::chrono::steady_clock::now();
  RunMeasurements m = c.finish();
  const auto t2 = std::chrono::steady_clock::now();

  // The assertions that walk the whole per-second series.
  ConfigErrors errors;
  std::vector<std::unique_ptr<Assertion>> assertions;
  for (const char* text :
       {R"({"name":"a","kind":"recovery_time","phase":"fault","baseline":"steady","max":"60s"})",
        R"({"name":"b","kind":"resource_slope","phase":"*","component":"target",
            "resource":"rss_bytes","max_per_hour":"1MB"})",
        R"({"name":"c","kind":"latency_drift","phase":"steady","max_ratio":1.5})",
        R"({"name":"d","kind":"error_ratio","phase":"*","max":0.01})"})
    assertions.push_back(
        parse_assertion(json::parse(text), "$.assertions[0]", builtin_assertions(), errors));
  ASSERT_TRUE(errors.empty()) << errors.to_string();
  for (const auto& a : assertions) {
    const AssertionResult r = a->evaluate(m);
    EXPECT_TRUE(r.pass) << r.name << ": " << r.message;
  }
  const auto t3 = std::chrono::steady_clock::now();
  const double hwm_after = proc_status_bytes("VmHWM");

  ASSERT_EQ(m.series.size(), static_cast<std::size_t>(kSeconds));
  EXPECT_EQ(m.phases.size(), static_cast<std::size_t>(kPhases));
  EXPECT_EQ(m.phase("*")->load.total, 1000u * kSeconds);
  EXPECT_DOUBLE_EQ(m.series.back().resources.at("target_rss_bytes"), 5e7 + kSeconds * 10.0);

  auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  const double growth_mib = (hwm_after - rss_before) / (1024.0 * 1024.0);
  std::printf(
      "soak: %d intervals: feed %.2f s, finish %.2f s, assertions %.2f s, total %.2f s; "
      "RSS before %.1f MiB, peak after %.1f MiB, growth %.1f MiB\n",
      kSeconds, secs(t0, t1), secs(t1, t2), secs(t2, t3), secs(t0, t3),
      rss_before / (1024.0 * 1024.0), hwm_after / (1024.0 * 1024.0), growth_mib);
  if (!kSanitized) {
    EXPECT_LT(growth_mib, 256.0);
    EXPECT_LT(secs(t0, t3), 60.0);
  }
}
