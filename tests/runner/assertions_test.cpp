// Every assertion kind on synthetic measurements: pass, fail, and missing data (never a pass).
#include <algorithm>

#include <gtest/gtest.h>

#include "runner/assertions/assertion.hpp"

using namespace faultline;
using namespace faultline::runner;

namespace {

std::unique_ptr<Assertion> make(const std::string& text) {
  ConfigErrors e;
  auto a = parse_assertion(json::parse(text), "$.assertions[0]", builtin_assertions(), e);
  EXPECT_TRUE(e.empty()) << e.to_string();
  return a;
}

PhaseStats phase(const std::string& name, double start, double end, std::uint64_t total,
                 std::uint64_t failed, double p99) {
  PhaseStats p;
  p.name = name;
  p.start_seconds = start;
  p.end_seconds = end;
  p.load.present = true;
  p.load.seconds = end - start;
  p.load.total = total;
  p.load.failed = failed;
  p.load.ok = total - failed;
  p.load.error_ratio = total ? std::optional(double(failed) / double(total)) : std::nullopt;
  p.load.throughput_rps = double(total) / (end - start);
  p.load.latency.p50 = p99 / 4;
  p.load.latency.p99 = p99;
  return p;
}

void index(RunMeasurements& m) {
  for (const auto& p : m.phases)
    m.by_name[p.name] = p;
}

// baseline 0-10s, fault 10-20s, recovery 20-40s; series with per-second points.
RunMeasurements typical() {
  RunMeasurements m;
  m.phases.push_back(phase("baseline", 0, 10, 1000, 2, 0.004));
  m.phases.push_back(phase("fault", 10, 20, 1000, 52, 0.008));
  m.phases.push_back(phase("recovery", 20, 40, 2000, 10, 0.005));
  FaultStats f;
  f.requests = 1000;
  f.faults_injected = 50;
  f.fault_ratio = 0.05;
  m.phases[1].faults["front"] = f;
  index(m);
  for (int t = 1; t <= 40; ++t) {
    SeriesPoint sp;
    sp.t = t;
    sp.phase = t <= 10 ? "baseline" : t <= 20 ? "fault" : "recovery";
    sp.throughput_rps = 100;
    // Errors persist for the first 5 seconds after the fault ends (t = 21..25).
    const bool bad = t > 10 && t <= 25;
    sp.error_ratio = bad ? 0.05 : 0.002;
    sp.p99_seconds = bad ? 0.2 : 0.004;
    sp.resources["target_rss_bytes"] = 1e7 + t * 1000.0;  // 3.6 MB/h
    m.series.push_back(sp);
  }
  return m;
}

}  // namespace

TEST(Assertions, ErrorRatio) {
  auto m = typical();
  auto ok = make(R"({"name":"a","kind":"error_ratio","phase":"baseline","max":0.01})");
  auto r = ok->evaluate(m);
  EXPECT_TRUE(r.pass) << r.message;
  EXPECT_DOUBLE_EQ(*r.measured, 0.002);
  EXPECT_EQ(r.bound, "<= 0.01");
  auto bad = make(R"({"name":"a","kind":"error_ratio","phase":"fault","max":0.01})");
  r = bad->evaluate(m);
  EXPECT_FALSE(r.pass);
  EXPECT_NE(r.message.find("52 of 1000"), std::string::npos) << r.message;
}

TEST(Assertions, ErrorRatioPerRequestNameAndShard) {
  auto m = typical();
  RequestNameStats rn;
  rn.total = 100;
  rn.failed = 30;
  rn.ok = 70;
  rn.error_ratio = 0.3;
  m.by_name["fault"].load.by_name["get_paste"] = rn;
  ShardStats sh;
  sh.requests = 200;
  sh.errors = 0;
  sh.error_ratio = 0.0;
  m.by_name["fault"].shards["1"] = sh;
  auto a =
      make(R"({"name":"a","kind":"error_ratio","phase":"fault","max":0.1,"request":"get_paste"})");
  EXPECT_FALSE(a->evaluate(m).pass);
  auto b = make(R"({"name":"a","kind":"error_ratio","phase":"fault","max":0.1,"shard":"1"})");
  EXPECT_TRUE(b->evaluate(m).pass);
  auto c = make(R"({"name":"a","kind":"error_ratio","phase":"fault","max":0.1,"shard":"9"})");
  auto r = c->evaluate(m);
  EXPECT_FALSE(r.pass);  // no data is never a pass
  EXPECT_FALSE(r.measured.has_value());
}

TEST(Assertions, Latency) {
  auto m = typical();
  auto a =
      make(R"({"name":"a","kind":"latency","phase":"baseline","percentile":"p99","max":"5ms"})");
  auto r = a->evaluate(m);
  EXPECT_TRUE(r.pass) << r.message;
  EXPECT_DOUBLE_EQ(*r.measured, 0.004);
  auto b = make(R"({"name":"a","kind":"latency","phase":"fault","percentile":"p99","max":"5ms"})");
  EXPECT_FALSE(b->evaluate(m).pass);
  auto c = make(R"({"name":"a","kind":"latency","phase":"fault","percentile":"p999","max":"5ms"})");
  r = c->evaluate(m);  // p999 not measured in this synthetic phase
  EXPECT_FALSE(r.pass);
  EXPECT_FALSE(r.measured.has_value());
}

TEST(Assertions, Throughput) {
  auto m = typical();
  EXPECT_TRUE(
      make(R"({"name":"a","kind":"throughput","phase":"baseline","min":90})")->evaluate(m).pass);
  EXPECT_FALSE(
      make(R"({"name":"a","kind":"throughput","phase":"baseline","min":150})")->evaluate(m).pass);
  EXPECT_FALSE(
      make(R"({"name":"a","kind":"throughput","phase":"baseline","max":50})")->evaluate(m).pass);
}

TEST(Assertions, ErrorAmplification) {
  auto m = typical();
  auto a = make(
      R"({"name":"a","kind":"error_amplification","phase":"fault","proxy":"front","max":1.5})");
  auto r = a->evaluate(m);
  EXPECT_TRUE(r.pass) << r.message;
  EXPECT_NEAR(*r.measured, 0.052 / 0.05, 1e-9);
  EXPECT_NE(r.message.find("0.052 / induced fault ratio 0.05"), std::string::npos) << r.message;
  // A cascade: 5 % injected, 30 % observed.
  m.by_name["fault"].load.error_ratio = 0.3;
  r = a->evaluate(m);
  EXPECT_FALSE(r.pass);
  EXPECT_NEAR(*r.measured, 6.0, 1e-9);
  // No fault injected: undefined, fails with a clear message.
  m.by_name["fault"].faults["front"].fault_ratio = 0.0;
  r = a->evaluate(m);
  EXPECT_FALSE(r.pass);
  EXPECT_FALSE(r.measured.has_value());
  EXPECT_NE(r.message.find("injected no faults"), std::string::npos);
}

// Issue 23.3: a tcp proxy's "requests" are connections. In front of a pool it accepted none in
// the phase: no per-request ratio exists, and the assertion says so (inconclusive, not a pass);
// "per": "connection" divides by the faults per connection it carried instead.
TEST(Assertions, ErrorAmplificationBehindATcpProxyInFrontOfAPool) {
  auto m = typical();
  FaultStats f;
  f.protocol = "tcp";
  f.requests = 0;  // no connection opened in the phase: the pool's were opened before it
  f.faults_injected = 2;
  f.connections = 4;
  f.faults_per_connection = 0.5;
  m.by_name["fault"].faults["front"] = f;
  auto a = make(
      R"({"name":"a","kind":"error_amplification","phase":"fault","proxy":"front","max":1.5})");
  EXPECT_TRUE(a->requires_faults());
  auto r = a->evaluate(m);
  EXPECT_FALSE(r.pass);
  EXPECT_TRUE(r.inconclusive);
  EXPECT_FALSE(r.measured.has_value());
  EXPECT_NE(r.message.find("tcp proxy: its requests are the connections it accepted"),
            std::string::npos)
      << r.message;
  EXPECT_NE(r.message.find("faults per connection 0.5 (2 faults on 4 connections)"),
            std::string::npos)
      << r.message;
  auto per = make(
      R"({"name":"a","kind":"error_amplification","phase":"fault","proxy":"front","max":1.5,
          "per":"connection"})");
  r = per->evaluate(m);
  ASSERT_TRUE(r.measured.has_value()) << r.message;
  EXPECT_NEAR(*r.measured, 0.052 / 0.5, 1e-9);
  EXPECT_TRUE(r.pass) << r.message;
  EXPECT_NE(r.message.find("induced faults per connection 0.5"), std::string::npos) << r.message;
  // Bad "per", and require_faults must be a boolean.
  ConfigErrors e;
  parse_assertion(json::parse(R"({"name":"a","kind":"error_amplification","phase":"fault",
      "proxy":"front","max":1,"per":"stream","require_faults":"yes"})"),
                  "$.assertions[0]", builtin_assertions(), e);
  EXPECT_NE(e.to_string().find("$.assertions[0].per: must be \"request\" or \"connection\""),
            std::string::npos)
      << e.to_string();
  EXPECT_NE(e.to_string().find("$.assertions[0].require_faults: must be true or false"),
            std::string::npos)
      << e.to_string();
  // require_faults is a member of every kind: false by default but for error_amplification.
  auto lat = make(R"({"name":"l","kind":"latency","phase":"fault","percentile":"p99",
                      "max":"1s","require_faults":true})");
  EXPECT_TRUE(lat->requires_faults());
  EXPECT_FALSE(make(R"({"name":"l","kind":"latency","phase":"fault","percentile":"p99",
                        "max":"1s"})")
                   ->requires_faults());
}

TEST(Assertions, RecoveryTime) {
  auto m = typical();
  auto a = make(R"({"name":"a","kind":"recovery_time","phase":"recovery","baseline":"baseline",
                    "max":"10s","stable_seconds":3})");
  auto r = a->evaluate(m);
  // Bad through t=25 (interval 24-25); the interval 25-26 is the first good one: 5 s after 20 s.
  EXPECT_TRUE(r.pass) << r.message;
  EXPECT_DOUBLE_EQ(*r.measured, 5.0);
  auto strict = make(R"({"name":"a","kind":"recovery_time","phase":"recovery","baseline":"baseline",
                         "max":"2s"})");
  r = strict->evaluate(m);
  EXPECT_FALSE(r.pass);
  EXPECT_DOUBLE_EQ(*r.measured, 5.0);
  // Never recovers.
  for (auto& sp : m.series)
    if (sp.t > 20) sp.error_ratio = 0.5;
  r = a->evaluate(m);
  EXPECT_FALSE(r.pass);
  EXPECT_FALSE(r.measured.has_value());
  EXPECT_NE(r.message.find("did not recover"), std::string::npos) << r.message;
}

TEST(Assertions, IsolationPassesWhenHealthyShardsKeepTheirBaseline) {
  auto m = typical();
  auto shard = [](double req, double err, double p99) {
    ShardStats s;
    s.requests = req;
    s.errors = err;
    s.seconds = 10;
    s.error_ratio = req > 0 ? std::optional(err / req) : std::nullopt;
    s.p99_seconds = req > 0 ? std::optional(p99) : std::nullopt;
    s.throughput_rps = req / 10;
    return s;
  };
  for (const char* sh : {"0", "1", "2"})
    m.by_name["baseline"].shards[sh] = shard(300, 0, 0.004);
  m.by_name["fault"].shards["0"] = shard(290, 0, 0.006);
  m.by_name["fault"].shards["1"] = shard(310, 1, 0.005);
  m.by_name["fault"].shards["2"] = shard(300, 300, 0.001);  // the faulty one fails fast
  auto a = make(R"({"name":"a","kind":"isolation","phase":"fault","baseline":"baseline",
                    "faulty_shards":["2"]})");
  auto r = a->evaluate(m);
  EXPECT_TRUE(r.pass) << r.message;
  EXPECT_DOUBLE_EQ(*r.measured, 0.006);

  // The naive cascade: healthy shards complete almost nothing, slowly.
  m.by_name["fault"].shards["0"] = shard(12, 0, 4.5);
  m.by_name["fault"].shards["1"] = shard(0, 0, 0);
  r = a->evaluate(m);
  EXPECT_FALSE(r.pass);
  EXPECT_NE(r.message.find("healthy shards stalled"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("shard 0"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("shard 1"), std::string::npos) << r.message;
}

TEST(Assertions, ResourceSlope) {
  auto m = typical();
  auto ok = make(R"({"name":"a","kind":"resource_slope","phase":"*","component":"target",
                     "resource":"rss_bytes","max_per_hour":"10MB"})");
  auto r = ok->evaluate(m);
  EXPECT_TRUE(r.pass) << r.message;
  EXPECT_NEAR(*r.measured, 3.6e6, 1);
  auto strict = make(R"({"name":"a","kind":"resource_slope","phase":"*","component":"target",
                         "resource":"rss_bytes","max_per_hour":1e6})");
  EXPECT_FALSE(strict->evaluate(m).pass);
  auto none = make(R"({"name":"a","kind":"resource_slope","phase":"*","component":"proxy",
                       "resource":"open_fds","max_per_hour":1})");
  r = none->evaluate(m);
  EXPECT_FALSE(r.pass);
  EXPECT_FALSE(r.measured.has_value());
}

TEST(Assertions, LatencyDrift) {
  auto m = typical();
  auto a = make(R"({"name":"a","kind":"latency_drift","phase":"baseline","max_ratio":1.5})");
  auto r = a->evaluate(m);
  EXPECT_TRUE(r.pass) << r.message;
  EXPECT_DOUBLE_EQ(*r.measured, 1.0);
  for (auto& sp : m.series)
    if (sp.t > 7) sp.p99_seconds = 0.04;
  r = a->evaluate(m);
  EXPECT_FALSE(r.pass);
  EXPECT_DOUBLE_EQ(*r.measured, 10.0);
}

TEST(Assertions, BadConfigsNameTheirPath) {
  const char* bad[] = {
      R"({"name":"a","kind":"latency","phase":"x","percentile":"p42","max":"1s"})",
      R"({"name":"a","kind":"throughput","phase":"x"})",
      R"({"name":"a","kind":"recovery_time","phase":"x","max":"1s"})",
      R"({"name":"a","kind":"isolation","phase":"x","baseline":"b","faulty_shards":[true]})",
      R"({"name":"a","kind":"resource_slope","phase":"x","component":"","resource":"rss_bytes","max_per_hour":1})",
      R"({"name":"a","kind":"error_ratio","phase":"x"})",
  };
  for (const char* text : bad) {
    ConfigErrors e;
    auto a = parse_assertion(json::parse(text), "$.assertions[3]", builtin_assertions(), e);
    EXPECT_EQ(a, nullptr) << text;
    EXPECT_NE(e.to_string().find("$.assertions[3]."), std::string::npos) << e.to_string();
  }
}

// Every kind of the FAULTLINE_ASSERTIONS list is registered (a new kind adds itself; this list
// pins the built-ins).
TEST(Assertions, RegistryHoldsEveryBuiltinKind) {
  const auto kinds = builtin_assertions().kinds();
  for (const char* k :
       {"error_amplification", "error_ratio", "isolation", "latency", "latency_drift",
        "recovery_time", "resource_slope", "throughput", "checks", "reconnects"})
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), k), kinds.end()) << k;
}

TEST(Assertions, UnknownKindListsTheRegistrysNames) {
  ConfigErrors e;
  auto a = parse_assertion(json::parse(R"({"name":"a","kind":"vibes","phase":"x"})"),
                           "$.assertions[0]", builtin_assertions(), e);
  EXPECT_EQ(a, nullptr);
  std::string known;
  for (const auto& k : builtin_assertions().kinds())
    known += (known.empty() ? "" : ", ") + k;
  EXPECT_NE(known.find("error_amplification, error_ratio, isolation, latency"), std::string::npos);
  EXPECT_NE(e.to_string().find("$.assertions[0].kind: unknown kind \"vibes\" (" + known + ")"),
            std::string::npos)
      << e.to_string();

  // A registry of its own lists only its kinds.
  AssertionRegistry mine;
  mine.add("always",
           [](const json&, const std::string&, AssertionCommon,
              ConfigErrors&) -> std::unique_ptr<Assertion> { return nullptr; });
  ConfigErrors e2;
  parse_assertion(json::parse(R"({"name":"a","kind":"vibes","phase":"x"})"), "$.assertions[0]",
                  mine, e2);
  EXPECT_NE(e2.to_string().find("unknown kind \"vibes\" (always)"), std::string::npos)
      << e2.to_string();
}

TEST(Assertions, PromqlComparesPrometheussValue) {
  const char* q = R"(sum(increase(x_total{code=~\"5..\"}[phase])) / sum(increase(x_total[phase])))";
  auto a = make(std::string(R"({"name":"p","kind":"promql","phase":"fault","query":")") + q +
                R"(","max":0.05})");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(*a->promql_query(),
            R"(sum(increase(x_total{code=~"5.."}[phase])) / sum(increase(x_total[phase])))");
  auto m = typical();
  PromqlValue v;
  v.value = 0.02;
  v.query = "sum(increase(x_total{code=~\"5..\"}[10000ms])) / sum(increase(x_total[10000ms]))";
  v.at_seconds = 20;
  m.promql["p"] = v;
  auto r = a->evaluate(m);
  EXPECT_TRUE(r.pass) << r.message;
  EXPECT_DOUBLE_EQ(*r.measured, 0.02);
  EXPECT_EQ(r.bound, "<= 0.05");
  EXPECT_NE(r.message.find("0.02"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("[10000ms]"), std::string::npos) << r.message;
  m.promql["p"].value = 0.07;
  r = a->evaluate(m);
  EXPECT_FALSE(r.pass);
  EXPECT_DOUBLE_EQ(*r.measured, 0.07);

  auto lo = make(R"({"name":"p","kind":"promql","phase":"fault","query":"up","min":10})");
  m.promql["p"].value = 12;
  r = lo->evaluate(m);
  EXPECT_TRUE(r.pass) << r.message;
  EXPECT_EQ(r.bound, ">= 10");
  m.promql["p"].value = 9;
  EXPECT_FALSE(lo->evaluate(m).pass);

  auto both =
      make(R"({"name":"p","kind":"promql","phase":"fault","query":"up","min":1,"max":2.5})");
  EXPECT_EQ(both->evaluate(m).bound, "in [1, 2.5]");
  EXPECT_FALSE(both->evaluate(m).pass);
  m.promql["p"].value = 2.5;
  EXPECT_TRUE(both->evaluate(m).pass);
}

TEST(Assertions, PromqlWithoutAValueFailsWithTheReason) {
  auto a = make(R"j({"name":"p","kind":"promql","phase":"fault","query":"sum(up)","max":1})j");
  auto m = typical();
  auto r = a->evaluate(m);  // never evaluated
  EXPECT_FALSE(r.pass);
  EXPECT_FALSE(r.measured);
  EXPECT_EQ(r.message, "promql: no data at the end of phase fault (query sum(up))");
  PromqlValue v;
  v.error = "NaN (e.g. 0/0: no requests in the window)";
  v.query = "sum(up)";
  m.promql["p"] = v;
  r = a->evaluate(m);
  EXPECT_FALSE(r.pass);
  EXPECT_FALSE(r.measured);
  EXPECT_NE(r.message.find("NaN (e.g. 0/0"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("sum(up)"), std::string::npos) << r.message;
  m.promql["p"].error = "";
  r = a->evaluate(m);
  EXPECT_NE(r.message.find("no data"), std::string::npos) << r.message;
  // Other kinds have no query.
  EXPECT_FALSE(make(R"({"name":"a","kind":"error_ratio","phase":"x","max":0.1})")->promql_query());
}

TEST(Assertions, PromqlBadConfigs) {
  const std::pair<const char*, const char*> bad[] = {
      {R"({"name":"a","kind":"promql","phase":"x","max":1})", "$.assertions[3].query"},
      {R"({"name":"a","kind":"promql","phase":"x","query":"  ","max":1})",
       "$.assertions[3].query: must be a non-empty PromQL expression"},
      {R"({"name":"a","kind":"promql","phase":"x","query":1,"max":1})", "$.assertions[3].query"},
      {R"({"name":"a","kind":"promql","phase":"x","query":"up"})",
       "$.assertions[3].min: give min and/or max"},
      {R"({"name":"a","kind":"promql","phase":"x","query":"up","min":2,"max":1})",
       "$.assertions[3].max: must be >= min"},
      {R"({"name":"a","kind":"promql","phase":"x","query":"up","max":"1"})", "$.assertions[3].max"},
      {R"({"name":"a","kind":"promql","phase":"x","query":"up","max":1,"step":"1s"})",
       "$.assertions[3].step: unknown field"},
  };
  for (const auto& [text, want] : bad) {
    ConfigErrors e;
    auto a = parse_assertion(json::parse(text), "$.assertions[3]", builtin_assertions(), e);
    EXPECT_EQ(a, nullptr) << text;
    EXPECT_NE(e.to_string().find(want), std::string::npos) << text << "\n" << e.to_string();
  }
  // Negative bounds are fine (a difference can be negative).
  EXPECT_NE(make(R"({"name":"a","kind":"promql","phase":"x","query":"up","min":-1})"), nullptr);
}

// Issue 23 item 12: recovery_time says which occurrence was slowest and what kept it out of the
// band; its max may be relative to the fault's length.
TEST(Assertions, RecoveryTimeExplainsItself) {
  auto m = typical();  // bad (error ratio 0.05, p99 200 ms) through t=25: 5 s into recovery
  auto a = make(R"({"name":"a","kind":"recovery_time","phase":"recovery","baseline":"baseline",
                    "max":"fault.duration * 0.8"})");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->member_naming("fault"), "max");
  EXPECT_EQ(a->member_naming("baseline"), "baseline");
  auto r = a->evaluate(m);
  EXPECT_TRUE(r.pass) << r.message;
  EXPECT_DOUBLE_EQ(*r.measured, 5.0);
  EXPECT_EQ(r.bound, "<= fault.duration * 0.8 (8s)");
  EXPECT_NE(r.message.find("both the error ratio and the p99 kept it out of the band: error ratio "
                           "above 0.012 in 5s (peak 0.05, until 5s into the phase); p99 above "
                           "8ms in 5s (peak 200ms, until 5s into the phase)"),
            std::string::npos)
      << r.message;
  EXPECT_NE(r.message.find("<= 0.8 × fault duration 10s = 8s"), std::string::npos) << r.message;
  // The p99 stays out four seconds longer than the error ratio: it kept recovery out the longest.
  for (auto& sp : m.series)
    if (sp.t >= 26 && sp.t <= 29) sp.p99_seconds = 0.1;
  r = a->evaluate(m);
  EXPECT_FALSE(r.pass);
  EXPECT_DOUBLE_EQ(*r.measured, 9.0);
  EXPECT_NE(r.message.find("; the p99 kept it out of the band the longest: p99 above 8ms in 9s "
                           "(peak 200ms, until 9s into the phase); error ratio above 0.012 in 5s"),
            std::string::npos)
      << r.message;
  EXPECT_NE(r.message.find("> 0.8 × fault duration 10s = 8s"), std::string::npos) << r.message;
}

TEST(Assertions, RecoveryTimeNamesTheSlowestOccurrence) {
  // baseline 0-10, then fault/recovery twice: recovery 20-30 (back at once) and 40-50 (the error
  // ratio stays high for 4 s).
  RunMeasurements m;
  m.phases.push_back(phase("baseline", 0, 10, 1000, 0, 0.004));
  m.phases.push_back(phase("fault", 10, 20, 1000, 50, 0.004));
  m.phases.push_back(phase("recovery", 20, 30, 1000, 0, 0.004));
  m.phases.push_back(phase("fault", 30, 40, 1000, 50, 0.004));
  m.phases.push_back(phase("recovery", 40, 50, 1000, 40, 0.004));
  index(m);
  for (int t = 1; t <= 50; ++t) {
    SeriesPoint sp;
    sp.t = t;
    sp.error_ratio = (t > 40 && t <= 44) ? 0.3 : 0.0;
    sp.p99_seconds = 0.004;
    m.series.push_back(sp);
  }
  auto a = make(R"({"name":"a","kind":"recovery_time","phase":"recovery","baseline":"baseline",
                    "max":"5s"})");
  auto r = a->evaluate(m);
  EXPECT_TRUE(r.pass) << r.message;
  EXPECT_DOUBLE_EQ(*r.measured, 4.0);
  EXPECT_NE(r.message.find("(slowest: occurrence 2 of 2, starting at 40.0s; each took 0s, 4s)"),
            std::string::npos)
      << r.message;
  EXPECT_NE(r.message.find("; the error ratio kept it out of the band: error ratio above 0.01 in "
                           "4s (peak 0.3, until 4s into the phase)"),
            std::string::npos)
      << r.message;
  EXPECT_EQ(r.message.find("p99 above"), std::string::npos) << r.message;
  // Never back in the second occurrence: which one, and why.
  for (auto& sp : m.series)
    if (sp.t > 40) sp.p99_seconds = 0.5;
  r = a->evaluate(m);
  EXPECT_FALSE(r.pass);
  EXPECT_FALSE(r.measured);
  EXPECT_NE(r.message.find("did not recover within the recovery phase (occurrence 2 of 2) starting "
                           "at 40.0s"),
            std::string::npos)
      << r.message;
  EXPECT_NE(r.message.find("the p99 kept it out of the band the longest: p99 above 8ms in 10s"),
            std::string::npos)
      << r.message;
}

// checks: the failure ratio of the workload's response checks in a phase (issue #23 item 13).
TEST(Assertions, ChecksFailureRatio) {
  auto m = typical();
  m.phases[1].load.checks["cached"] = {90, 10};
  m.phases[1].load.checks["ok"] = {100, 0};
  index(m);
  auto one = make(R"({"name":"c","kind":"checks","phase":"fault","check":"cached","max":0.05})");
  auto r = one->evaluate(m);
  EXPECT_FALSE(r.pass);
  EXPECT_DOUBLE_EQ(*r.measured, 0.1);
  EXPECT_NE(r.message.find("check cached failure ratio 0.1 (10 of 100 failed) > 0.05"),
            std::string::npos)
      << r.message;
  auto all = make(R"({"name":"c","kind":"checks","phase":"fault","max":0.05})");
  r = all->evaluate(m);
  EXPECT_TRUE(r.pass) << r.message;
  EXPECT_DOUBLE_EQ(*r.measured, 0.05);
  auto none = make(R"({"name":"c","kind":"checks","phase":"baseline","max":0.05})");
  r = none->evaluate(m);
  EXPECT_FALSE(r.pass);
  EXPECT_NE(r.message.find("no response checks evaluated"), std::string::npos) << r.message;
  ConfigErrors e;
  EXPECT_FALSE(parse_assertion(json::parse(R"({"name":"c","kind":"checks","phase":"fault"})"),
                               "$.assertions[0]", builtin_assertions(), e));
  EXPECT_NE(e.to_string().find("$.assertions[0].max"), std::string::npos) << e.to_string();
}
