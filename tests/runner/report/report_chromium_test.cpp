// report.html rendered by a real headless Chromium (--dump-dom): no script errors, every chart
// drawn with data points, the tables filled in, and the hostile strings of the fixture shown as
// text. Set FAULTLINE_KEEP_REPORT=/some/dir to keep the rendered report.html (and a screenshot)
// there.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "runner/report/report.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using nlohmann::json;

namespace {

json fixture() {
  std::ifstream in(test::source_dir() + "/tests/runner/report/fixtures/results.json");
  return json::parse(in);
}

std::vector<std::string> chromium_argv(const std::string& chromium, const test::TempDir& dir) {
  return {chromium,
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--disable-dev-shm-usage",
          "--user-data-dir=" + dir.file("chromium-profile")};
}

// The DOM after the page's scripts ran, as Chromium serializes it.
std::string dump_dom(const std::string& html_path, const test::TempDir& dir) {
  auto chromium = find_program("chromium");
  if (!chromium) return {};
  auto argv = chromium_argv(*chromium, dir);
  argv.push_back("--window-size=1400,2000");
  argv.push_back("--dump-dom");
  argv.push_back("file://" + html_path);
  Subprocess p(argv, dir.file("chromium.stderr"));
  p.read_all(std::chrono::seconds(40));
  EXPECT_EQ(p.wait(std::chrono::seconds(10)), 0);
  return p.output();
}

std::string attr(const std::string& dom, const std::string& tag_regex, const std::string& name) {
  std::smatch m;
  std::regex re("<" + tag_regex + "[^>]*\\s" + name + "=\"([^\"]*)\"");
  return std::regex_search(dom, m, re) ? m[1].str() : std::string("<missing>");
}

std::size_t count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1))
    ++n;
  return n;
}

}  // namespace

TEST(HtmlReportChromium, RendersWithoutErrorsAndChartsHaveData) {
  auto chromium = find_program("chromium");
  ASSERT_TRUE(chromium) << "chromium is not installed (scripts/install-deps installs it)";
  test::TempDir dir;
  const auto html = dir.file("report.html");
  runner::write_html_report(fixture(), html);
  const auto dom = dump_dom(html, dir);
  ASSERT_FALSE(dom.empty());

  EXPECT_EQ(attr(dom, "html", "data-script-errors"), "0")
      << attr(dom, "html", "data-script-error-messages");
  EXPECT_EQ(attr(dom, "body", "data-report-ready"), "1");
  // Throughput, error ratio, latency, and the components' RSS and open fds (the fixture has them).
  EXPECT_EQ(attr(dom, "body", "data-charts-rendered"), "5");
  for (const char* id :
       {"chart-throughput", "chart-errors", "chart-latency", "chart-memory", "chart-fds"}) {
    const auto points = attr(dom, "div[^>]*id=\"" + std::string(id) + "\"", "data-points");
    ASSERT_NE(points, "<missing>") << id;
    // 80 seconds of series; latency has two series, one second of p99 is null (a gap).
    EXPECT_GE(std::stoi(points), 80) << id;
  }
  EXPECT_EQ(attr(dom, "div[^>]*id=\"chart-latency\"", "data-points"), "159");
  EXPECT_EQ(attr(dom, "div[^>]*id=\"chart-memory\"", "data-points"), "160");  // target + proxy
  // uPlot drew into canvases (one per chart).
  EXPECT_EQ(count(dom, "<canvas"), 5u);

  // Tables: 5 assertions (2 failed), 4 phases, per-proxy fault rows, 3 timeline actions.
  EXPECT_EQ(count(dom, "class=\"row-fail\""), 2u);
  EXPECT_EQ(count(dom, "class=\"row-pass\""), 3u);
  EXPECT_NE(dom.find("id=\"phase-table\""), std::string::npos);
  EXPECT_NE(dom.find("id=\"fault-table\""), std::string::npos);
  EXPECT_NE(dom.find("id=\"shard-table\""), std::string::npos);
  EXPECT_NE(dom.find("http_error 101"), std::string::npos);
  EXPECT_NE(dom.find("add toxic http_error (toxicity 0.05) on target_http"), std::string::npos);
  EXPECT_NE(dom.find("Verdict: 2 of 5 assertions failed"), std::string::npos);
  EXPECT_NE(dom.find("apdex-row"), std::string::npos);
  // Hostile strings are text, not markup.
  EXPECT_NE(dom.find("&lt;/script&gt;&lt;script&gt;window.__pwned=1"), std::string::npos);
  EXPECT_EQ(dom.find("<b>not bold</b>"), std::string::npos);

  if (const char* keep = std::getenv("FAULTLINE_KEEP_REPORT")) {
    std::filesystem::create_directories(keep);
    std::filesystem::copy_file(html, std::string(keep) + "/report.html",
                               std::filesystem::copy_options::overwrite_existing);
    auto argv = chromium_argv(*chromium, dir);
    argv.push_back("--window-size=1400,2000");
    argv.push_back("--hide-scrollbars");
    argv.push_back("--screenshot=" + std::string(keep) + "/report.png");
    argv.push_back("file://" + html);
    Subprocess shot(argv, dir.file("chromium-shot.stderr"));
    shot.read_all(std::chrono::seconds(40));
    EXPECT_EQ(shot.wait(std::chrono::seconds(10)), 0);
  }
}

// Issue 23.2: the run's warnings (a fault phase whose toxics injected nothing) are shown under the
// verdict, and an inconclusive assertion has its own badge and is counted in the verdict line.
TEST(HtmlReportChromium, WarningsAndInconclusiveAssertionsAreShown) {
  ASSERT_TRUE(find_program("chromium")) << "chromium is not installed (scripts/install-deps)";
  test::TempDir dir;
  json doc = fixture();
  doc["warnings"] = {
      "phase http-errors (from 20.0 s): the toxics of proxy target_http (<i>x</i>) "
      "injected no fault (0 requests)"};
  doc["assertions"][1]["verdict"] = "inconclusive";
  const auto html = dir.file("report.html");
  runner::write_html_report(doc, html);
  const auto dom = dump_dom(html, dir);
  ASSERT_FALSE(dom.empty());
  EXPECT_EQ(attr(dom, "html", "data-script-errors"), "0")
      << attr(dom, "html", "data-script-error-messages");
  EXPECT_NE(dom.find("id=\"warnings\""), std::string::npos);
  EXPECT_NE(dom.find("Warning: phase http-errors (from 20.0 s): the toxics of proxy target_http "
                     "(&lt;i&gt;x&lt;/i&gt;) injected no fault"),
            std::string::npos);
  EXPECT_NE(dom.find("class=\"badge inconclusive\""), std::string::npos);
  EXPECT_NE(dom.find(">INCONCLUSIVE<"), std::string::npos);
  EXPECT_NE(dom.find("1 inconclusive"), std::string::npos);
}

TEST(HtmlReportChromium, EmptyDocumentRendersWithoutErrors) {
  ASSERT_TRUE(find_program("chromium")) << "chromium is not installed (scripts/install-deps)";
  test::TempDir dir;
  const auto html = dir.file("report.html");
  runner::write_html_report(json{{"verdict", "error"}, {"error", "target did not start"}}, html);
  const auto dom = dump_dom(html, dir);
  ASSERT_FALSE(dom.empty());
  EXPECT_EQ(attr(dom, "html", "data-script-errors"), "0")
      << attr(dom, "html", "data-script-error-messages");
  EXPECT_EQ(attr(dom, "body", "data-charts-rendered"), "0");
  EXPECT_NE(dom.find("the run ended in error: target did not start"), std::string::npos);
}

TEST(HtmlReportChromium, DamagedDocumentRendersWithoutErrors) {
  ASSERT_TRUE(find_program("chromium")) << "chromium is not installed (scripts/install-deps)";
  test::TempDir dir;
  const auto html = dir.file("report.html");
  // Every container holds elements of the wrong shape; the page must still render what it can.
  json damaged = {{"verdict", 7},
                  {"scenario", "not an object"},
                  {"phases", {nullptr, 5, {{"name", {1, 2}}, {"load", json::array()}}}},
                  {"series", {nullptr, {{"t", "a"}, {"throughput_rps", "x"}}, {{"t", 1.0}}}},
                  {"assertions", {nullptr, "x", {{"measured", {{"a", 1}}}, {"verdict", "pass"}}}},
                  {"timeline", "not an array"}};
  runner::write_html_report(damaged, html);
  const auto dom = dump_dom(html, dir);
  ASSERT_FALSE(dom.empty());
  EXPECT_EQ(attr(dom, "html", "data-script-errors"), "0")
      << attr(dom, "html", "data-script-error-messages");
  EXPECT_EQ(attr(dom, "body", "data-report-ready"), "1");
}
