// junit.xml: one <testcase> per assertion (classname = scenario name, name = assertion name), a
// <failure> with the assertion's message on fail, an <error> when the assertion could not be
// evaluated or the whole run ended in error — the shape Jenkins, GitLab and GitHub reporters read.
#include <sstream>

#include "common/files.hpp"
#include "format.hpp"
#include "report.hpp"

namespace faultline::runner {

namespace rf = report_format;

namespace {

std::string attr(std::string_view s) {
  return rf::xml_escape(s);
}

// "measured 1.04, bound <= 1.5: <message>" — the one-line failure message CI systems show.
std::string assertion_summary(const nlohmann::json& a) {
  std::string s = "measured " + rf::display(rf::any(a, "measured")) + ", bound " +
                  rf::display(rf::any(a, "bound"));
  const auto msg = rf::str(a, "message");
  if (!msg.empty()) s += ": " + msg;
  return s;
}

}  // namespace

std::string render_junit(const nlohmann::json& results) {
  const auto& scenario = rf::obj(results, "scenario");
  const std::string suite = rf::str(scenario, "name", "faultline");
  const auto& assertions = rf::arr(results, "assertions");
  const std::string verdict = rf::str(results, "verdict", "error");
  // An interrupted run is an error for CI too: it did not test what it was asked to.
  const bool run_error = verdict == "error" || verdict == "interrupted";

  std::size_t failures = 0, errors = 0, skipped = 0;
  for (const auto& a : assertions) {
    const auto v = rf::str(a, "verdict");
    if (v == "fail")
      ++failures;
    else if (v == "not_run")
      ++skipped;
    else if (v != "pass")
      ++errors;
  }
  // A run that ended in error gets one extra test case saying so, so CI never shows it green.
  const std::size_t tests = assertions.size() + (run_error ? 1 : 0);
  if (run_error) ++errors;
  const std::string time = rf::number(rf::num(results, "duration_seconds").value_or(0), 6);

  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x << "<testsuites name=\"faultline\" tests=\"" << tests << "\" failures=\"" << failures
    << "\" errors=\"" << errors << "\" time=\"" << time << "\">\n";
  x << "  <testsuite name=\"" << attr(suite) << "\" tests=\"" << tests << "\" failures=\""
    << failures << "\" errors=\"" << errors << "\" skipped=\"" << skipped << "\" time=\"" << time
    << "\"";
  if (const auto started = rf::str(results, "started_at"); !started.empty())
    x << " timestamp=\"" << attr(started) << "\"";
  x << ">\n";
  x << "    <properties>\n";
  x << "      <property name=\"verdict\" value=\"" << attr(verdict) << "\"/>\n";
  if (rf::any(results, "partial").is_boolean() && rf::any(results, "partial").get<bool>())
    x << "      <property name=\"partial_as_of_seconds\" value=\""
      << rf::number(rf::num(results, "as_of_seconds").value_or(0), 1) << "\"/>\n";
  if (const auto file = rf::str(scenario, "file"); !file.empty())
    x << "      <property name=\"scenario_file\" value=\"" << attr(file) << "\"/>\n";
  if (const auto ver = rf::str(results, "faultline_version"); !ver.empty())
    x << "      <property name=\"faultline_version\" value=\"" << attr(ver) << "\"/>\n";
  for (const auto& w : rf::arr(results, "warnings"))
    if (w.is_string())
      x << "      <property name=\"warning\" value=\"" << attr(w.get<std::string>()) << "\"/>\n";
  x << "    </properties>\n";

  for (const auto& a : assertions) {
    const auto name = rf::str(a, "name", rf::str(a, "kind", "assertion"));
    const auto phase = rf::str(a, "phase");
    const auto v = rf::str(a, "verdict");
    x << "    <testcase classname=\"" << attr(suite) << "\" name=\"" << attr(name)
      << "\" time=\"0\"";
    if (v == "pass") {
      x << "/>\n";
      continue;
    }
    x << ">\n";
    if (v == "not_run") {
      x << "      <skipped message=\"" << attr(rf::str(a, "message", "not run")) << "\"/>\n";
      x << "    </testcase>\n";
      continue;
    }
    const std::string msg = assertion_summary(a);
    std::string detail = "assertion: " + name + "\nkind: " + rf::str(a, "kind") +
                         "\nphase: " + phase +
                         "\nmeasured: " + rf::display(rf::any(a, "measured")) +
                         "\nbound: " + rf::display(rf::any(a, "bound")) +
                         "\nverdict: " + (v.empty() ? "missing" : v) + "\n";
    if (auto m = rf::str(a, "message"); !m.empty()) detail += m + "\n";
    const char* tag = v == "fail" ? "failure" : "error";
    x << "      <" << tag << " message=\"" << attr(msg) << "\" type=\"" << attr(rf::str(a, "kind"))
      << "\">" << rf::xml_escape(detail, false) << "</" << tag << ">\n";
    x << "    </testcase>\n";
  }
  if (run_error) {
    const auto why = rf::str(results, "error", "the scenario run ended in error");
    x << "    <testcase classname=\"" << attr(suite) << "\" name=\"scenario run\" time=\"" << time
      << "\">\n      <error message=\"" << attr(why) << "\" type=\"run_error\">"
      << rf::xml_escape(why, false) << "</error>\n    </testcase>\n";
  }
  x << "  </testsuite>\n</testsuites>\n";
  return x.str();
}

void write_junit(const nlohmann::json& results, const std::string& path) {
  write_file_atomically(path, render_junit(results));
}

}  // namespace faultline::runner
