// Bounds relative to another phase (issue 23 item 11): the grammar, its errors at the member's
// path, and latency's message with the number the bound came to and how. recovery_time's
// ("fault.duration * 2") is in assertions_test.cpp with the rest of that kind.
#include "runner/assertions/relative_bound.hpp"

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

PhaseStats phase(const std::string& name, double start, double end, double p99) {
  PhaseStats p;
  p.name = name;
  p.start_seconds = start;
  p.end_seconds = end;
  p.load.present = true;
  p.load.latency.p50 = p99 / 4;
  p.load.latency.p99 = p99;
  return p;
}

// baseline 0-10 s (p99 4 ms), fault 10-20 s (p99 8 ms).
RunMeasurements measurements() {
  RunMeasurements m;
  m.phases = {phase("baseline", 0, 10, 0.004), phase("fault", 10, 20, 0.008)};
  for (const auto& p : m.phases)
    m.by_name[p.name] = p;
  return m;
}

std::optional<SecondsBound> parse(const json& max, const std::string& own = "fault") {
  ConfigErrors e;
  auto b = get_seconds_bound(json{{"max", max}}, "$.x", "max", {"p99", "duration"}, own, e);
  EXPECT_EQ(b.has_value(), e.empty()) << e.to_string();
  return b;
}

}  // namespace

TEST(RelativeBound, TheForms) {
  auto abs = parse("50ms");
  ASSERT_TRUE(abs);
  EXPECT_FALSE(abs->relative());
  EXPECT_DOUBLE_EQ(abs->seconds, 0.05);
  EXPECT_DOUBLE_EQ(parse(0.25)->seconds, 0.25);
  auto rel = parse("  baseline.p99*3+0.5s ");
  ASSERT_TRUE(rel);
  EXPECT_EQ(rel->phase, "baseline");
  EXPECT_EQ(rel->stat, "p99");
  EXPECT_DOUBLE_EQ(rel->factor, 3);
  EXPECT_DOUBLE_EQ(rel->seconds, 0.5);
  EXPECT_EQ(rel->text, "baseline.p99*3+0.5s");
  auto dotted = parse("2.5 * warm.up-1.duration");  // phase names may hold dots and dashes
  ASSERT_TRUE(dotted);
  EXPECT_EQ(dotted->phase, "warm.up-1");
  EXPECT_DOUBLE_EQ(dotted->factor, 2.5);
  auto r = resolve_bound(*rel, [](const std::string& ph, const std::string& stat) {
    return ph == "baseline" && stat == "p99" ? std::optional<double>(0.1) : std::nullopt;
  });
  ASSERT_TRUE(r.seconds);
  EXPECT_DOUBLE_EQ(*r.seconds, 0.8);
  EXPECT_EQ(r.derivation_with_value(), "3 × baseline p99 100ms + 500ms = 800ms");
  EXPECT_EQ(bound_text(*rel, r), "baseline.p99*3+0.5s (800ms)");
  auto none = resolve_bound(
      *rel, [](const std::string&, const std::string&) { return std::optional<double>(); });
  EXPECT_FALSE(none.seconds);
  EXPECT_EQ(none.missing, "no p99 measured in phase baseline");
  EXPECT_EQ(bound_text(*rel, none), "baseline.p99*3+0.5s");
}

// Issue 23 item 11: a latency bound relative to another phase, resolved from the run and shown
// with how it was derived.
TEST(RelativeBound, LatencyRelativeToTheBaseline) {
  auto m = measurements();  // baseline p99 4 ms, fault p99 8 ms
  auto a = make(R"({"name":"a","kind":"latency","phase":"fault","percentile":"p99",
                    "max":"baseline.p99 * 3 + 20ms"})");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->referenced_phases(), (std::vector<std::string>{"fault", "baseline"}));
  EXPECT_EQ(a->member_naming("baseline"), "max");
  auto r = a->evaluate(m);
  EXPECT_TRUE(r.pass) << r.message;
  EXPECT_DOUBLE_EQ(*r.measured, 0.008);
  EXPECT_EQ(r.message, "overall p99 8ms <= 3 × baseline p99 4ms + 20ms = 32ms");
  EXPECT_EQ(r.bound, "p99 <= baseline.p99 * 3 + 20ms (32ms)");
  ASSERT_TRUE(r.resolved_max.has_value());  // results.json "bound_max", the envelope's margin
  EXPECT_DOUBLE_EQ(*r.resolved_max, 0.032);
  // K first, no addend; fails above it.
  auto tight = make(R"({"name":"a","kind":"latency","phase":"fault","percentile":"p99",
                        "max":"1.5 * baseline.p99"})");
  r = tight->evaluate(m);
  EXPECT_FALSE(r.pass);
  EXPECT_EQ(r.message, "overall p99 8ms > 1.5 × baseline p99 4ms = 6ms");
  // Another percentile of the reference; no arithmetic: no "=".
  auto p50 = make(R"({"name":"a","kind":"latency","phase":"fault","percentile":"p50",
                      "max":"baseline.p99"})");
  r = p50->evaluate(m);
  EXPECT_TRUE(r.pass) << r.message;
  EXPECT_EQ(r.message, "overall p50 2ms <= baseline p99 4ms");
  // Per request name: the reference is that request's, and no data there is never a pass.
  RequestNameStats rn;
  rn.latency.p99 = 0.010;
  m.by_name["fault"].load.by_name["get"] = rn;
  auto req = make(R"({"name":"a","kind":"latency","phase":"fault","percentile":"p99",
                      "request":"get","max":"baseline.p99 * 2"})");
  r = req->evaluate(m);
  EXPECT_FALSE(r.pass);
  EXPECT_DOUBLE_EQ(*r.measured, 0.010);
  EXPECT_NE(r.message.find("cannot be computed: no p99 measured in phase baseline"),
            std::string::npos)
      << r.message;
  rn.latency.p99 = 0.006;
  m.by_name["baseline"].load.by_name["get"] = rn;
  r = req->evaluate(m);
  EXPECT_TRUE(r.pass) << r.message;
  EXPECT_EQ(r.message, "request get p99 10ms <= 2 × baseline p99 6ms = 12ms");
  // A plain duration reads as before.
  auto plain = make(R"({"name":"a","kind":"latency","phase":"fault","percentile":"p99",
                        "max":"50ms"})");
  EXPECT_EQ(plain->evaluate(m).bound, "p99 <= 50ms");
  EXPECT_FALSE(plain->evaluate(m).resolved_max.has_value());
  EXPECT_EQ(plain->referenced_phases(), (std::vector<std::string>{"fault"}));
}

TEST(RelativeBound, StrictlyValidatedAtTheMembersPath) {
  const std::pair<const char*, const char*> bad[] = {
      {R"("max":"baseline.p98 * 3")",
       "\"p98\" is not a measurement this bound can use (p50, "
       "p90, p99, p999, max, mean)"},
      {R"("max":"baseline.p99 * 3 + 20")", "\"20\" needs a unit: 20ms or 20s"},
      {R"("max":"baseline.p99 + 1m")", "\"1m\" is not a duration in ms or s"},
      {R"("max":"baseline.p99 * 0")", "the factor must be above 0"},
      {R"("max":"baseline.p99 * fast")", "\"fast\" is not a number to multiply by"},
      {R"("max":"baseline.p99 - 5ms")", "not of that form"},
      {R"("max":"baseline.p99 / 2")", "unexpected \"/\""},
      {R"("max":"baseline.p99 + 5ms + 5ms")", "\"+\" is followed by one duration"},
      {R"("max":"p99 * 3")", "\"p99\" is not PHASE.STAT"},
      {R"("max":"fault.p99 * 3")", "phase \"fault\" is the assertion's own"},
      {R"("max":"fast")", "\"fast\" is not PHASE.STAT"},
  };
  for (const auto& [member, want] : bad) {
    const std::string text =
        std::string(R"({"name":"a","kind":"latency","phase":"fault","percentile":"p99",)") +
        member + "}";
    ConfigErrors e;
    auto a = parse_assertion(json::parse(text), "$.assertions[3]", builtin_assertions(), e);
    EXPECT_EQ(a, nullptr) << text;
    EXPECT_NE(e.to_string().find("$.assertions[3].max: "), std::string::npos) << e.to_string();
    EXPECT_NE(e.to_string().find(want), std::string::npos) << text << "\n" << e.to_string();
  }
  // recovery_time's max is a time: only a phase's duration.
  ConfigErrors e;
  EXPECT_EQ(parse_assertion(json::parse(R"({"name":"a","kind":"recovery_time","phase":"recovery",
                                            "baseline":"baseline","max":"baseline.p99 * 3"})"),
                            "$.assertions[1]", builtin_assertions(), e),
            nullptr);
  EXPECT_NE(e.to_string().find("$.assertions[1].max: \"baseline.p99 * 3\": \"p99\" is not a "
                               "measurement this bound can use (duration)"),
            std::string::npos)
      << e.to_string();
}
