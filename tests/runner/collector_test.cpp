// The measurement pipeline on synthetic input: Prometheus text parsing, counter deltas and
// histogram quantiles; interval lines merged per phase (histograms losslessly), proxy and shard
// figures from boundary scrapes, the per-second series.
#include "runner/ledger/collector.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "common/histogram.hpp"
#include "runner/ledger/prom_text.hpp"
#include "runner/ledger/results.hpp"

using namespace faultline;
using namespace faultline::runner;
using namespace std::chrono_literals;

TEST(PromText, ParsesSamplesLabelsAndSpecialValues) {
  auto s = PromSnapshot::parse(
      "# HELP x_total help\n# TYPE x_total counter\n"
      "x_total{proxy=\"a\",kind=\"http_error\"} 5\n"
      "x_total{proxy=\"b\",kind=\"latency\"} 7\n"
      "weird{l=\"q\\\"uote\"} +Inf\n"
      "plain 3.5e2\n"
      "garbage line here\n");
  EXPECT_EQ(*s.sum("x_total"), 12);
  EXPECT_EQ(*s.sum("x_total", {{"proxy", "a"}}), 5);
  EXPECT_FALSE(s.sum("x_total", {{"proxy", "c"}}).has_value());
  EXPECT_EQ(*s.sum("plain"), 350);
  EXPECT_EQ(s.label_values("weird", "l"), std::vector<std::string>{"q\"uote"});
}

TEST(PromText, DeltasAndHistogramQuantile) {
  auto a = PromSnapshot::parse(
      "h_bucket{shard=\"0\",le=\"0.01\"} 10\nh_bucket{shard=\"0\",le=\"0.1\"} 10\n"
      "h_bucket{shard=\"0\",le=\"+Inf\"} 10\nc_total 100\n");
  auto b = PromSnapshot::parse(
      "h_bucket{shard=\"0\",le=\"0.01\"} 60\nh_bucket{shard=\"0\",le=\"0.1\"} 110\n"
      "h_bucket{shard=\"0\",le=\"+Inf\"} 110\nc_total 150\n");
  auto d = b.delta_since(a);
  EXPECT_EQ(*d.sum("c_total"), 50);
  // 100 observations in the window: 50 <= 10 ms, 50 in (10 ms, 100 ms].
  EXPECT_NEAR(*histogram_quantile(d, "h", {{"shard", "0"}}, 0.5), 0.01, 1e-12);
  EXPECT_NEAR(*histogram_quantile(d, "h", {{"shard", "0"}}, 0.99), 0.01 + 0.09 * 49 / 50, 1e-12);
  EXPECT_FALSE(histogram_quantile(a.delta_since(a), "h", {{"shard", "0"}}, 0.99).has_value());
}

namespace {

json interval(double t, std::uint64_t ok, std::uint64_t failed, std::chrono::nanoseconds lat) {
  Histogram h;
  h.record(lat, ok + failed);
  Histogram named;
  named.record(lat, ok);
  return {
      {"t", t},
      {"requests", {{"total", ok + failed}, {"ok", ok}, {"failed", failed}}},
      {"errors", failed ? json{{"http_5xx", failed}} : json::object()},
      {"throughput_rps", ok + failed},
      {"latency_seconds", {{"p50", h.percentile_seconds(50)}, {"p99", h.percentile_seconds(99)}}},
      {"histogram", h.to_json()},
      {"requests_by_name",
       {{"get",
         {{"total", ok + failed},
          {"ok", ok},
          {"failed", failed},
          {"histogram", named.to_json()}}}}}};
}

std::string proxy_metrics(double requests, double faults) {
  return "faultline_proxy_requests_total{proxy=\"front\"} " + std::to_string(requests) +
         "\nfaultline_proxy_faults_injected_total{proxy=\"front\",kind=\"http_error\"} " +
         std::to_string(faults) + "\nprocess_resident_memory_bytes 1e6\n";
}

}  // namespace

TEST(Collector, MergesIntervalsPerPhaseAndComputesDeltas) {
  Collector c({{"baseline", 0, false}, {"fault", 2, true}, {"baseline", 4, false}}, 6, 0.1,
              {"front"});
  c.add_interval(interval(1, 100, 0, 2ms));
  c.add_interval(interval(2, 100, 0, 4ms));
  c.add_interval(interval(3, 90, 10, 8ms));
  c.add_interval(interval(4, 95, 5, 8ms));
  c.add_interval(interval(5, 100, 0, 2ms));
  c.add_interval(interval(6, 100, 0, 500ms));  // frustrated: > 4 × 100 ms
  c.add_interval(json::parse(R"({"nonsense": true})"));
  const double req[] = {0, 200, 400, 600};
  const double flt[] = {0, 0, 15, 15};
  for (std::size_t k = 0; k < 4; ++k)
    c.set_boundary(k, static_cast<double>(k) * 2 + 0.01, "proxy",
                   PromSnapshot::parse(proxy_metrics(req[k], flt[k])));
  c.add_resources(0.5, {{"target_rss_bytes", 1000}});
  c.add_resources(3.5, {{"target_rss_bytes", 2000}});
  EXPECT_EQ(c.malformed_intervals(), 1u);

  RunMeasurements m = c.finish();
  ASSERT_EQ(m.phases.size(), 3u);
  const PhaseStats& fault = m.phases[1];
  EXPECT_EQ(fault.name, "fault");
  EXPECT_TRUE(fault.fault);
  EXPECT_DOUBLE_EQ(fault.start_seconds, 2.01);
  EXPECT_DOUBLE_EQ(fault.end_seconds, 4.01);
  EXPECT_EQ(fault.load.total, 200u);
  EXPECT_EQ(fault.load.failed, 15u);
  EXPECT_DOUBLE_EQ(*fault.load.error_ratio, 0.075);
  EXPECT_DOUBLE_EQ(*fault.load.throughput_rps, 100);
  EXPECT_EQ(fault.load.errors.at("http_5xx"), 15u);
  EXPECT_NEAR(*fault.load.latency.p99, 0.008, 0.008 * 0.001);
  EXPECT_EQ(fault.load.by_name.at("get").failed, 15u);
  ASSERT_TRUE(fault.faults.count("front"));
  EXPECT_DOUBLE_EQ(fault.faults.at("front").requests, 200);
  EXPECT_DOUBLE_EQ(fault.faults.at("front").faults_injected, 15);
  EXPECT_DOUBLE_EQ(*fault.faults.at("front").fault_ratio, 0.075);
  EXPECT_DOUBLE_EQ(fault.faults.at("front").by_kind.at("http_error"), 15);
  EXPECT_DOUBLE_EQ(*fault.components.at("proxy").rss_bytes, 1e6);

  // The two baseline occurrences merged: 400 requests, none failed; histograms merged losslessly
  // (the 500 ms second makes p99 0.5 s).
  const PhaseStats* base = m.phase("baseline");
  ASSERT_NE(base, nullptr);
  EXPECT_EQ(base->load.total, 400u);
  EXPECT_DOUBLE_EQ(*base->load.error_ratio, 0);
  EXPECT_NEAR(*base->load.latency.p99, 0.5, 0.5 * 0.001);
  EXPECT_DOUBLE_EQ(base->faults.at("front").requests, 400);
  // Apdex T = 100 ms: 300 satisfied, 100 frustrated.
  EXPECT_DOUBLE_EQ(*base->load.apdex, 0.75);
  // Whole run.
  EXPECT_EQ(m.phase("*")->load.total, 600u);

  ASSERT_EQ(m.series.size(), 6u);
  EXPECT_EQ(m.series[2].phase, "fault");
  EXPECT_DOUBLE_EQ(*m.series[2].error_ratio, 0.1);
  EXPECT_DOUBLE_EQ(m.series[0].resources.at("target_rss_bytes"), 1000);
  EXPECT_DOUBLE_EQ(m.series[3].resources.at("target_rss_bytes"), 2000);
}

TEST(Collector, MissingDataStaysMissing) {
  Collector c({{"baseline", 0, false}}, 5, 0.1, {"front"});
  RunMeasurements m = c.finish();
  ASSERT_EQ(m.phases.size(), 1u);
  EXPECT_FALSE(m.phases[0].load.present);
  EXPECT_FALSE(m.phases[0].load.error_ratio.has_value());
  EXPECT_FALSE(m.phases[0].load.latency.p99.has_value());
  EXPECT_TRUE(m.phases[0].faults.empty());
}

TEST(Collector, AComponentGoneAtTheLastBoundaryKeepsItsLatestSampleInThePhase) {
  // Two phases, 0-2 s and 2-4 s. The load answered the boundary scrapes at 0 and 2 s but had
  // exited before the one at the end (4.1 s); its per-second samples fill in phase two's figures:
  // the latest one within the phase (3.5 s), not one from phase one (1.5 s).
  Collector c({{"baseline", 0, false}, {"fault", 2, true}}, 4, 0.1, {});
  const auto snap = [](double rss) {
    return PromSnapshot::parse(
        fmt::format("process_resident_memory_bytes {}\n"
                    "process_open_fds 7\n",
                    rss));
  };
  c.set_boundary(0, 0, "load", snap(1e6));
  c.set_boundary(1, 2, "load", snap(2e6));
  c.set_boundary(2, 4.1, "target", snap(9e6));  // the end boundary happened; the load was gone
  c.add_resources(1.5, {{"load_rss_bytes", 1.5e6}, {"load_open_fds", 5}});
  c.add_resources(3.0, {{"load_rss_bytes", 3e6}, {"load_open_fds", 6}});
  c.add_resources(3.5, {{"load_rss_bytes", 3.5e6}, {"target_rss_bytes", 1}});
  const RunMeasurements m = c.finish();
  ASSERT_EQ(m.phases.size(), 2u);
  EXPECT_DOUBLE_EQ(*m.phases[0].components.at("load").rss_bytes, 2e6);  // its scrape
  ASSERT_TRUE(m.phases[1].components.count("load"));
  EXPECT_DOUBLE_EQ(*m.phases[1].components.at("load").rss_bytes, 3.5e6);
  EXPECT_DOUBLE_EQ(*m.phases[1].components.at("load").open_fds, 6);       // the latest that has it
  EXPECT_DOUBLE_EQ(*m.phases[1].components.at("target").rss_bytes, 9e6);  // a scrape wins
  EXPECT_DOUBLE_EQ(*m.phase("fault")->components.at("load").rss_bytes, 3.5e6);

  // No sample within the phase: no figure (one from an earlier phase would pass for this one's).
  Collector gone({{"baseline", 0, false}, {"fault", 2, true}}, 4, 0.1, {});
  gone.set_boundary(0, 0, "load", snap(1e6));
  gone.set_boundary(1, 2, "load", snap(2e6));
  gone.set_boundary(2, 4.1, "target", snap(9e6));
  gone.add_resources(1.5, {{"load_rss_bytes", 1.5e6}});
  EXPECT_FALSE(gone.finish().phases[1].components.count("load"));
}

TEST(Results, LongSeriesAreDownsampledKeepingPeaks) {
  std::vector<SeriesPoint> s;
  for (int t = 1; t <= 7300; ++t) {
    SeriesPoint p;
    p.t = t;
    p.phase = "steady";
    p.throughput_rps = 100;
    p.error_ratio = 0;
    p.p50_seconds = 0.001;
    p.p99_seconds = t == 5000 ? 2.0 : 0.004;
    s.push_back(p);
  }
  auto d = downsample(s, 3600);
  EXPECT_LE(d.size(), 3600u);
  EXPECT_GE(d.size(), 1800u);
  double peak = 0;
  for (const auto& p : d) {
    EXPECT_DOUBLE_EQ(*p.throughput_rps, 100);
    peak = std::max(peak, *p.p99_seconds);
  }
  EXPECT_DOUBLE_EQ(peak, 2.0);  // a one-second stall survives downsampling
  EXPECT_DOUBLE_EQ(d.back().t, 7300);
  EXPECT_EQ(downsample(std::vector<SeriesPoint>(10), 3600).size(), 10u);
}

TEST(Collector, StraddlingIntervalGoesToTheLaterPhaseUnlessTheActionWasLate) {
  auto one = [](double t) {
    return json{{"t", t}, {"requests", {{"total", 10}, {"ok", 10}, {"failed", 0}}}};
  };
  // The fault starts at 1.5 s (3 ms of API latency): the interval 1-2 s is half in each phase.
  Collector on_time({{"baseline", 0, false}, {"fault", 1.5, true}}, 3, 0.1, {});
  on_time.set_boundary(1, 1.503, "target", PromSnapshot{});
  on_time.add_interval(one(2));
  EXPECT_EQ(on_time.finish().phases[1].load.total, 10u);
  // The action ran 400 ms late: the fault really started at 1.9 s, so 1-2 s was mostly baseline.
  Collector late({{"baseline", 0, false}, {"fault", 1.5, true}}, 3, 0.1, {});
  late.set_boundary(1, 1.9, "target", PromSnapshot{});
  late.add_interval(one(2));
  EXPECT_EQ(late.finish().phases[0].load.total, 10u);
}

namespace {

// An open-model interval line with the load generator's "schedule" object.
json scheduled(double t, std::uint64_t ok, std::uint64_t offered, std::uint64_t sent,
               std::uint64_t late, std::uint64_t dropped, std::uint64_t backlog) {
  json j = {{"t", t}, {"requests", {{"total", ok}, {"ok", ok}, {"failed", 0}}}};
  j["schedule"] = {{"offered", offered},
                   {"sent", sent},
                   {"late", late},
                   {"dropped", dropped},
                   {"backlog", backlog}};
  return j;
}

}  // namespace

TEST(Collector, UnsentArrivalsCountAsFailures) {
  Collector c({{"baseline", 0, false}, {"overload", 3, true}, {"drain", 6, false}}, 8, 0.1, {});
  for (double t : {1, 2, 3})
    c.add_interval(scheduled(t, 100, 100, 100, 0, 0, 0));  // keeping up: nothing unsent
  c.add_interval(scheduled(4, 20, 100, 20, 0, 0, 80));     // 80 left in the backlog
  c.add_interval(scheduled(5, 30, 100, 30, 30, 10, 150));  // 10 dropped, backlog +70
  c.add_interval(scheduled(6, 0, 100, 0, 0, 0, 250));      // nothing sent at all
  c.add_interval(scheduled(7, 100, 100, 100, 100, 0, 250));
  json last = scheduled(8, 40, 50, 40, 40, 0, 260);
  last["unsent"] = 300;  // still queued when the run ended: replaces the smaller backlog
  c.add_interval(last);

  RunMeasurements m = c.finish();
  ASSERT_EQ(m.phases.size(), 3u);
  const LoadStats& base = m.phases[0].load;
  EXPECT_EQ(base.offered, 300u);
  EXPECT_EQ(base.unsent, 0u);
  EXPECT_DOUBLE_EQ(*base.error_ratio, 0);
  EXPECT_FALSE(base.errors.count("unsent"));

  const LoadStats& over = m.phases[1].load;
  EXPECT_EQ(over.total, 50u);  // answered requests only
  EXPECT_EQ(over.failed, 0u);
  EXPECT_EQ(over.offered, 300u);
  EXPECT_EQ(over.sent, 50u);
  EXPECT_EQ(over.late, 30u);
  EXPECT_EQ(over.unsent, 260u);  // 10 dropped + backlog 0 -> 250
  EXPECT_EQ(over.errors.at("unsent"), 260u);
  EXPECT_DOUBLE_EQ(*over.error_ratio, 260.0 / 310);
  EXPECT_DOUBLE_EQ(*over.throughput_rps, 50.0 / 3);  // completed/s, not offered

  const LoadStats& drain = m.phases[2].load;
  EXPECT_EQ(drain.unsent, 50u);  // backlog 250 -> 300 (the final "unsent")
  EXPECT_DOUBLE_EQ(*drain.error_ratio, 50.0 / 190);

  // Merged windows add their parts up.
  const LoadStats& whole = m.phase("*")->load;
  EXPECT_EQ(whole.unsent, 310u);
  EXPECT_EQ(whole.total, 490u);
  EXPECT_DOUBLE_EQ(*whole.error_ratio, 310.0 / 800);

  // Per second: the second that sent nothing has an error ratio of 1, not null.
  ASSERT_EQ(m.series.size(), 8u);
  EXPECT_EQ(m.series[2].unsent, 0u);
  EXPECT_DOUBLE_EQ(*m.series[2].error_ratio, 0);
  EXPECT_EQ(m.series[3].unsent, 80u);
  EXPECT_DOUBLE_EQ(*m.series[3].error_ratio, 0.8);
  EXPECT_EQ(m.series[4].unsent, 80u);
  EXPECT_DOUBLE_EQ(*m.series[4].error_ratio, 80.0 / 110);
  EXPECT_EQ(m.series[5].unsent, 100u);
  EXPECT_DOUBLE_EQ(*m.series[5].error_ratio, 1.0);
  EXPECT_EQ(m.series[6].unsent, 0u);  // backlog did not grow: the late ones were sent
  EXPECT_EQ(m.series[7].unsent, 50u);

  // results.json: the schedule and the unsent error kind.
  const json j = phase_to_json(m.phases[1]);
  EXPECT_EQ(j["load"]["schedule"]["unsent"], 260);
  EXPECT_DOUBLE_EQ(j["load"]["schedule"]["late_ratio"].get<double>(), 30.0 / 50);
  EXPECT_DOUBLE_EQ(j["load"]["schedule"]["unsent_ratio"].get<double>(), 260.0 / 300);
  EXPECT_EQ(j["load"]["errors"]["unsent"], 260);
}

// Lines by intended second ("attributed": "intended", issue #23 item 5): each says how many of
// its own arrivals were never sent, so a second whose arrivals all stayed queued behind an
// overload is unsent in full, although the backlog shrank in it (the backlog-growth reckoning
// of older lines said 0 there: the naive solver overload "recovered" in 0 s).
TEST(Collector, LinesByIntendedSecondCountTheirOwnUnsent) {
  Collector c({{"overload", 0, true}, {"recovery", 2, false}}, 4, 0.1, {});
  auto by_intended = [](double t, std::uint64_t ok, std::uint64_t offered, std::uint64_t sent,
                        std::uint64_t dropped, std::uint64_t unsent, std::uint64_t backlog) {
    json j = scheduled(t, ok, offered, sent, sent, dropped, backlog);
    j["schedule"]["unsent"] = unsent;
    j["schedule"]["attributed"] = "intended";
    return j;
  };
  c.add_interval(by_intended(1, 100, 100, 100, 0, 0, 300));  // all sent, late
  c.add_interval(by_intended(2, 40, 100, 40, 5, 55, 600));
  c.add_interval(by_intended(3, 30, 20, 0, 0, 20, 500));  // 30 flow steps sent in it, fast
  c.add_interval(by_intended(4, 30, 20, 0, 0, 20, 0));    // the backlog is 0 after the stop
  RunMeasurements m = c.finish();
  ASSERT_EQ(m.phases.size(), 2u);
  EXPECT_EQ(m.phases[0].load.unsent, 60u);  // 5 dropped + 55, not the backlog's 600
  EXPECT_EQ(m.phases[0].load.offered, 200u);
  EXPECT_EQ(m.phases[1].load.unsent, 40u);
  EXPECT_DOUBLE_EQ(*m.phases[1].load.error_ratio, 40.0 / 100);
  EXPECT_EQ(m.phase("*")->load.unsent, 100u);
  ASSERT_EQ(m.series.size(), 4u);
  EXPECT_EQ(m.series[0].unsent, 0u);
  EXPECT_EQ(m.series[1].unsent, 60u);
  EXPECT_EQ(m.series[2].unsent, 20u);
  EXPECT_DOUBLE_EQ(*m.series[2].error_ratio, 20.0 / 50);
  EXPECT_EQ(m.series[3].unsent, 20u);
}

TEST(Collector, IntervalsWithoutScheduleHaveNoUnsent) {
  Collector c({{"steady", 0, false}}, 2, 0.1, {});
  c.add_interval(interval(1, 90, 10, 2ms));
  c.add_interval(json{{"t", 2}, {"requests", {{"total", 0}, {"ok", 0}, {"failed", 0}}}});
  RunMeasurements m = c.finish();
  const LoadStats& l = m.phases[0].load;
  EXPECT_EQ(l.offered + l.sent + l.late + l.unsent, 0u);
  EXPECT_DOUBLE_EQ(*l.error_ratio, 0.1);
  EXPECT_FALSE(m.series[1].error_ratio.has_value());  // nothing due, nothing answered
  const json j = phase_to_json(m.phases[0]);
  EXPECT_TRUE(j["load"]["schedule"]["late_ratio"].is_null());
  EXPECT_TRUE(j["load"]["schedule"]["unsent_ratio"].is_null());
  EXPECT_FALSE(j["load"]["errors"].contains("unsent"));
}

// Response checks on the load's interval lines are summed per phase (and over merged phases).
TEST(Collector, SumsResponseChecksPerPhase) {
  Collector c({{"baseline", 0, false}, {"fault", 2, true}, {"baseline", 4, false}}, 6, 0.1, {});
  for (int t = 1; t <= 6; ++t) {
    json line = interval(t, 100, 0, 2ms);
    const std::uint64_t failed = t == 3 || t == 4 ? 40 : 1;
    line["checks"] = {{"cached", {{"passed", 100 - failed}, {"failed", failed}}}};
    c.add_interval(line);
  }
  RunMeasurements m = c.finish();
  ASSERT_EQ(m.phases.size(), 3u);
  EXPECT_EQ(m.phases[1].load.checks.at("cached"),
            (std::pair<std::uint64_t, std::uint64_t>{120, 80}));
  EXPECT_EQ(m.phases[0].load.checks.at("cached"),
            (std::pair<std::uint64_t, std::uint64_t>{198, 2}));
  EXPECT_EQ(m.phase("baseline")->load.checks.at("cached").second, 4u);
}

// WebSocket/SSE sessions on the load's interval lines (issue #24) are summed per phase, merged
// phases add up, and results.json shows them under the phase's load.
TEST(Collector, SumsSessionsPerPhase) {
  Collector c({{"baseline", 0, false}, {"fault", 2, true}, {"baseline", 4, false}}, 6, 0.1, {});
  for (int t = 1; t <= 6; ++t) {
    json line = interval(t, 100, 0, 2ms);
    const bool cut = t == 3 || t == 4;
    line["sessions"] = {{"chat",
                         {{"opened", 5},
                          {"completed", cut ? 1 : 5},
                          {"ended_early", cut ? 4 : 0},
                          {"reconnects", cut ? 4 : 0},
                          {"close_codes", cut ? json{{"1012", 4}} : json::object()}}}};
    c.add_interval(line);
  }
  RunMeasurements m = c.finish();
  ASSERT_EQ(m.phases.size(), 3u);
  const SessionStats& f = m.phases[1].load.sessions.at("chat");
  EXPECT_EQ(f.opened, 10u);
  EXPECT_EQ(f.completed, 2u);
  EXPECT_EQ(f.ended_early, 8u);
  EXPECT_EQ(f.reconnects, 8u);
  EXPECT_EQ(f.close_codes.at("1012"), 8u);
  EXPECT_EQ(m.phases[0].load.sessions.at("chat").reconnects, 0u);
  EXPECT_EQ(m.phase("baseline")->load.sessions.at("chat").opened, 20u);
  const json j = phase_to_json(m.phases[1]);
  EXPECT_EQ(j["load"]["sessions"]["chat"]["reconnects"], 8);
  EXPECT_EQ(j["load"]["sessions"]["chat"]["close_codes"]["1012"], 8);
}
