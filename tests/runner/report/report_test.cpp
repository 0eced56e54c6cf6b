// junit.xml, the terminal summary and report.html's structure, from the synthetic results.json
// fixture (4 phases, 5 assertions of which 2 fail, hostile strings in names and description).
#include <gtest/gtest.h>

#include <fstream>
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

std::size_t count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1))
    ++n;
  return n;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST(JUnit, OneTestCasePerAssertionWithFailures) {
  const auto xml = runner::render_junit(fixture());
  EXPECT_EQ(count(xml, "<testcase "), 5u);
  EXPECT_EQ(count(xml, "<failure "), 2u);
  EXPECT_EQ(count(xml, "<error "), 0u);
  EXPECT_NE(xml.find("<testsuite name=\"quickstart\" tests=\"5\" failures=\"2\" errors=\"0\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("classname=\"quickstart\" name=\"recovery time\""), std::string::npos);
  // The measured value and the bound are in the failure message; a null measurement is "n/a".
  EXPECT_NE(xml.find("message=\"measured 3, bound &lt;= 2: error ratio and p99"), std::string::npos)
      << xml;
  EXPECT_NE(xml.find("message=\"measured n/a, bound &gt;= 90"), std::string::npos) << xml;
  // XML-escaped names.
  EXPECT_NE(xml.find("name=\"latency phase p99 &lt; 150ms &amp; &quot;ok&quot; &lt;sure&gt;\""),
            std::string::npos)
      << xml;
  EXPECT_EQ(xml.find("<sure>"), std::string::npos);
}

TEST(JUnit, IsWellFormedXml) {
  auto xmllint = find_program("xmllint");
  ASSERT_TRUE(xmllint) << "xmllint is not installed (scripts/install-deps installs libxml2-utils)";
  test::TempDir dir;
  auto results = fixture();
  results["assertions"][0]["message"] = std::string("control \x01\x02 chars ]]> & \t tab");
  runner::write_junit(results, dir.file("junit.xml"));
  Subprocess p({*xmllint, "--noout", dir.file("junit.xml")});
  EXPECT_EQ(p.wait(std::chrono::seconds(20)), 0) << read(dir.file("junit.xml"));
}

TEST(JUnit, RunErrorAddsAnErrorTestCase) {
  json results = {{"scenario", {{"name", "broken"}}},
                  {"verdict", "error"},
                  {"error", "component target failed to start"},
                  {"assertions", json::array()}};
  const auto xml = runner::render_junit(results);
  EXPECT_EQ(count(xml, "<testcase "), 1u);
  EXPECT_NE(xml.find("<error message=\"component target failed to start\""), std::string::npos)
      << xml;
  EXPECT_NE(xml.find("tests=\"1\" failures=\"0\" errors=\"1\""), std::string::npos) << xml;
}

TEST(JUnit, WriteToMissingDirectoryThrows) {
  EXPECT_THROW(runner::write_junit(fixture(), "/nonexistent-dir/junit.xml"), std::runtime_error);
  EXPECT_THROW(runner::write_html_report(fixture(), "/nonexistent-dir/report.html"),
               std::runtime_error);
}

TEST(TerminalSummary, AlignedVerdictTableAndOverallVerdict) {
  const auto text = runner::render_terminal_summary(fixture());
  EXPECT_NE(text.find("Verdict: FAIL (2 of 5 assertions failed)"), std::string::npos) << text;
  EXPECT_NE(text.find("FAIL recovery time [recovery]: error ratio and p99"), std::string::npos)
      << text;

  // The assertion table: the VERDICT column starts at the same offset on every row.
  std::istringstream in(text);
  std::string line;
  std::size_t verdict_col = std::string::npos;
  int rows = 0;
  bool in_table = false;
  while (std::getline(in, line)) {
    if (line.find("ASSERTION") != std::string::npos) {
      verdict_col = line.find("VERDICT");
      ASSERT_NE(verdict_col, std::string::npos);
      in_table = true;
      continue;
    }
    if (!in_table) continue;
    if (line.empty()) break;
    ++rows;
    ASSERT_GE(line.size(), verdict_col + 4) << line;
    const auto v = line.substr(verdict_col);
    EXPECT_TRUE(v == "PASS" || v == "FAIL") << "misaligned: '" << line << "'";
  }
  EXPECT_EQ(rows, 5) << text;
  // A null measurement shows as n/a, never 0.
  EXPECT_NE(text.find("recovery throughput"), std::string::npos);
  EXPECT_NE(text.find("n/a"), std::string::npos);
  // The phase overview lists every phase with its p99.
  for (const char* phase : {"baseline", "http-errors", "latency", "recovery"})
    EXPECT_NE(text.find(std::string("  ") + phase), std::string::npos) << phase;
  EXPECT_NE(text.find("124 ms"), std::string::npos) << text;
  // Latency and recovery-time measurements are seconds and shown with a unit.
  EXPECT_NE(text.find("recovery time                                 3 s  <= 2"), std::string::npos)
      << text;
  EXPECT_NE(text.find("0.999"), std::string::npos);  // Apdex with 3 decimals
  // Requests the schedule never sent, exact (2 of 2000 must not round away).
  EXPECT_NE(text.find("REQUESTS  UNSENT  ERRORS"), std::string::npos) << text;
  EXPECT_NE(text.find("1998       2   0.1 %"), std::string::npos) << text;
}

TEST(TerminalSummary, PhaseTimesAreRounded) {
  json r = {{"verdict", "pass"},
            {"phases",
             {{{"name", "baseline"}, {"start_seconds", 0.001125}, {"end_seconds", 10.0049}},
              {{"name", "fault"}, {"start_seconds", 10.0049}, {"end_seconds", 20.126}}}}};
  const auto text = runner::render_terminal_summary(r);
  EXPECT_NE(text.find("baseline  0-10 s"), std::string::npos) << text;
  EXPECT_NE(text.find("fault     10-20.13 s"), std::string::npos) << text;
}

TEST(TerminalSummary, PassAndError) {
  json pass = {{"scenario", {{"name", "s"}}},
               {"verdict", "pass"},
               {"assertions",
                {{{"name", "a"},
                  {"phase", "p"},
                  {"measured", 0.5},
                  {"bound", "<= 1"},
                  {"verdict", "pass"}}}}};
  EXPECT_NE(runner::render_terminal_summary(pass).find("Verdict: PASS (1 of 1 assertions held)"),
            std::string::npos);
  json err = {{"verdict", "error"}, {"error", "redis shard 1 did not start"}};
  EXPECT_NE(
      runner::render_terminal_summary(err).find("Verdict: ERROR (redis shard 1 did not start)"),
      std::string::npos);
  // A document with nothing in it still renders (no crash on missing keys).
  EXPECT_NE(runner::render_terminal_summary(json::object()).find("Verdict: ERROR"),
            std::string::npos);
  EXPECT_NO_THROW(runner::render_html_report(json::object()));
  EXPECT_NO_THROW(runner::render_junit(json::array()));
}

TEST(HtmlReport, SelfContainedAndScriptSafe) {
  const auto html = runner::render_html_report(fixture());
  // Self-contained: no external script, stylesheet, font or image.
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  // uPlot is inlined (its banner carries the pinned version).
  EXPECT_NE(html.find("uPlot (v1.6.32)"), std::string::npos);
  // Exactly the page's 4 script elements; the hostile description cannot close one early.
  EXPECT_EQ(count(html, "<script"), 4u);
  EXPECT_EQ(count(html, "</script>"), 4u);
  EXPECT_EQ(html.find("window.__pwned=1</script>"), std::string::npos);
  EXPECT_NE(html.find("\\u003c/script\\u003e\\u003cscript\\u003ewindow.__pwned=1"),
            std::string::npos);
  EXPECT_NE(html.find("<title>FAIL - quickstart - faultline report</title>"), std::string::npos);
}

TEST(HtmlReport, EmbeddedJsonRoundTrips) {
  const auto results = fixture();
  const auto html = runner::render_html_report(results);
  const std::string open = "<script type=\"application/json\" id=\"faultline-results\">";
  const auto begin = html.find(open);
  ASSERT_NE(begin, std::string::npos);
  const auto end = html.find("</script>", begin);
  const auto embedded = json::parse(html.substr(begin + open.size(), end - begin - open.size()));
  EXPECT_EQ(embedded, results);
}

TEST(HtmlReport, WritesFile) {
  test::TempDir dir;
  runner::write_html_report(fixture(), dir.file("report.html"));
  const auto text = read(dir.file("report.html"));
  EXPECT_GT(text.size(), 50000u);  // uPlot alone is ~50 KB
  EXPECT_EQ(text, runner::render_html_report(fixture()));
}
