// Reports of a `faultline run`: everything here is computed from the results.json document alone
// (schema: docs/run.md "Reports"), so a report can be regenerated from a saved results.json.
//   - junit.xml: one <testcase> per assertion, for CI systems;
//   - report.html: one self-contained page (uPlot inlined at build time, no network needed);
//   - the terminal summary: the aligned verdict table `faultline run` prints on stdout.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace faultline::runner {

// Writes junit.xml for `results`. Throws std::runtime_error on I/O errors.
void write_junit(const nlohmann::json& results, const std::string& path);
// The junit.xml text (what write_junit writes).
std::string render_junit(const nlohmann::json& results);

// Writes report.html for `results`. Throws std::runtime_error on I/O errors.
void write_html_report(const nlohmann::json& results, const std::string& path);
// The report.html text (what write_html_report writes).
std::string render_html_report(const nlohmann::json& results);

// The verdict table (phase, assertion, measured, bound, PASS/FAIL), the failure messages and the
// overall verdict, as plain text lines ending in '\n'.
std::string render_terminal_summary(const nlohmann::json& results);

}  // namespace faultline::runner
