// envelope.json, the summary and report.html from a synthetic search (no system started): the
// document's shape, the summary sentence with its null cases, and the page rendered by a real
// headless Chromium without script errors, with the heat map and the trials drawn.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "common/files.hpp"
#include "common/subprocess.hpp"
#include "runner/envelope/envelope.hpp"
#include "runner/envelope/envelope_output.hpp"
#include "runner/report/format.hpp"
#include "tests/support/support.hpp"

namespace faultline::runner::envelope {
namespace {

// Holds while fault <= 180 - load/10 below 700 req/s; nothing from 700 req/s.
SearchResult synthetic(Plan& plan) {
  plan.scenario_name = "synthetic";
  plan.scenario_file = "s.json";
  plan.load = {100, 900};
  plan.fault.proxy = "redis2";
  plan.fault.toxic = "slow";
  plan.fault.attribute = "latency";
  plan.fault.unit = "ms";
  plan.fault.integer = true;
  plan.fault.range = {0, 200};
  plan.slo = {SloBound{"p99", 0.1, std::nullopt}};
  SearchOptions o;
  o.load = plan.load;
  o.fault = plan.fault.range;
  o.integer_fault = true;
  o.resolution = 4;
  return search(o, [](const Point& p) -> std::optional<Trial> {
    const double limit = p.load >= 700 ? -1 : 180 - p.load / 10;
    Trial t;
    t.pass = p.fault <= limit;
    t.seconds = 1;
    t.margin = (limit - p.fault) / 200;
    t.record = {{"load", p.load},
                {"fault", p.fault},
                {"pass", t.pass},
                {"margin", *t.margin},
                {"verdicts", {{{"name", "p99"}, {"bound", "p99 <= 100ms"}, {"measured", 0.05}}}},
                {"set", {"load.rate=1"}},
                {"command", "faultline run s.json --set load.rate=1"},
                {"system", {{"id", 1}, {"reused", p.fault > 0}}}};
    return t;
  });
}

TEST(EnvelopeReport, DocumentAndSummary) {
  Plan plan;
  const SearchResult r = synthetic(plan);
  const json doc = envelope_to_json(r, plan, "faultline envelope s.json");
  ASSERT_GE(doc["boundary"].size(), 3u);
  const json& first = doc["boundary"][0];
  EXPECT_EQ(first["load"], 100);
  EXPECT_EQ(first["holds"], "up_to");
  EXPECT_NEAR(first["fault"].get<double>(), 170, 2);
  EXPECT_EQ(first["band"].size(), 2u);
  const json& last = doc["boundary"].back();
  EXPECT_EQ(last["load"], 900);
  EXPECT_TRUE(last["fault"].is_null());
  EXPECT_TRUE(last["band"].is_null());
  EXPECT_EQ(last["holds"], "none");
  EXPECT_EQ(doc["trials"].size(), r.trials.size());
  EXPECT_EQ(doc["trials"][0]["id"], 1);
  const std::string s = doc["summary"];
  EXPECT_EQ(s.rfind("At 100 req/s the service holds p99 <= 100ms up to 170 ms ± ", 0), 0u) << s;
  EXPECT_NE(s.find(" req/s it holds none."), std::string::npos) << s;
  const std::string text = render_envelope_summary(doc);
  EXPECT_NE(text.find("holds none"), std::string::npos) << text;
}

TEST(EnvelopeReport, RendersInChromiumWithoutScriptErrors) {
  auto chromium = find_program("chromium");
  ASSERT_TRUE(chromium) << "chromium is not installed (scripts/install-deps installs it)";
  Plan plan;
  json doc = envelope_to_json(synthetic(plan), plan, "faultline envelope s.json");
  doc["system"] = {{"reused", true},
                   {"starts", 2},
                   {"fresh_reason", nullptr},
                   {"recovery_assertions", json::array()}};
  test::TempDir dir;
  const std::string html = dir.file("report.html");
  write_file_atomically(html, render_envelope_html(doc));
  Subprocess p({*chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-dev-shm-usage", "--user-data-dir=" + dir.file("profile"),
                "--window-size=1400,2000", "--dump-dom", "file://" + html},
               dir.file("chromium.stderr"));
  p.read_all(std::chrono::seconds(40));
  EXPECT_EQ(p.wait(std::chrono::seconds(10)), 0);
  const std::string dom = p.output();
  auto attr = [&](const std::string& name) {
    std::smatch m;
    return std::regex_search(dom, m, std::regex(name + "=\"([^\"]*)\"")) ? m[1].str() : "<missing>";
  };
  EXPECT_EQ(attr("data-script-errors"), "0") << attr("data-script-error-messages");
  EXPECT_EQ(attr("data-charts-rendered"), "1");
  EXPECT_NE(attr("data-heat-cells"), "<missing>");
  EXPECT_NE(attr("data-heat-cells"), "0");
  EXPECT_NE(dom.find("faultline run s.json --set load.rate=1"), std::string::npos);
  EXPECT_NE(dom.find("system kept between trials, started 2×"), std::string::npos);
  EXPECT_NE(dom.find("#1 reused"), std::string::npos);
}

}  // namespace
}  // namespace faultline::runner::envelope
