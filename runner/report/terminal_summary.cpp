// The terminal summary `faultline run` prints on stdout: a per-phase overview (with the requests
// the schedule never sent, which count as errors), the verdict table
// (phase, assertion, measured, bound, PASS/FAIL), the messages of failed assertions and the overall
// verdict. Plain text, no colour (stdout may be a file or a CI log).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <vector>

#include "format.hpp"
#include "report.hpp"

namespace faultline::runner {

namespace rf = report_format;

namespace {

// Display width of UTF-8 text: code points, not bytes (names may contain "µ", "—", …).
std::size_t width(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

using Row = std::vector<std::string>;

// Left-aligned columns separated by two spaces; the last column is not padded.
void print_table(std::ostringstream& out, const Row& header, const std::vector<Row>& rows,
                 const std::vector<bool>& right_align = {}) {
  std::vector<std::size_t> w(header.size(), 0);
  auto widen = [&](const Row& r) {
    for (std::size_t i = 0; i < r.size() && i < w.size(); ++i)
      w[i] = std::max(w[i], width(r[i]));
  };
  widen(header);
  for (const auto& r : rows)
    widen(r);
  auto line = [&](const Row& r) {
    std::string s = "  ";
    for (std::size_t i = 0; i < r.size(); ++i) {
      const std::size_t pad = w[i] - width(r[i]);
      const bool right = i < right_align.size() && right_align[i];
      if (right) s += std::string(pad, ' ');
      s += r[i];
      if (i + 1 < r.size()) {
        if (!right) s += std::string(pad, ' ');
        s += "  ";
      }
    }
    while (!s.empty() && s.back() == ' ')
      s.pop_back();
    out << s << '\n';
  };
  line(header);
  for (const auto& r : rows)
    line(r);
}

std::string opt_number(std::optional<double> v, double scale = 1, const char* suffix = "") {
  if (!v) return "n/a";
  return rf::number(*v * scale, 3) + suffix;
}

// A count of requests, exact (a few unsent out of thousands must not round away).
std::string count_text(std::optional<double> v) {
  if (!v) return "n/a";
  return std::to_string(std::llround(*v));
}

std::string seconds_human(std::optional<double> v) {
  if (!v) return "n/a";
  if (*v == 0) return "0 s";
  if (std::fabs(*v) < 1e-3) return rf::number(*v * 1e6, 3) + " us";
  if (std::fabs(*v) < 1) return rf::number(*v * 1e3, 3) + " ms";
  return rf::number(*v, 3) + " s";
}

// Phase boundaries: 10 ms resolution is plenty for a summary.
std::string time_s(double v) {
  return rf::number(std::round(v * 100) / 100, 6);
}

std::string apdex_text(std::optional<double> v) {
  if (!v) return "n/a";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.3f", *v);
  return buf;
}

// Assertion kinds whose measured value is in seconds: shown with a unit ("2.27 ms").
std::string measured_text(const nlohmann::json& a) {
  const auto kind = rf::str(a, "kind");
  if (kind == "latency" || kind == "recovery_time")
    if (auto m = rf::num(a, "measured")) return seconds_human(m);
  return rf::display(rf::any(a, "measured"));
}

}  // namespace

std::string render_terminal_summary(const nlohmann::json& results) {
  std::ostringstream out;
  const auto& scenario = rf::obj(results, "scenario");
  const auto& phases = rf::arr(results, "phases");
  const auto& assertions = rf::arr(results, "assertions");

  out << "Scenario " << rf::str(scenario, "name", "(unnamed)");
  if (auto d = rf::num(results, "duration_seconds")) out << " - " << rf::number(*d, 4) << " s";
  out << ", " << phases.size() << (phases.size() == 1 ? " phase" : " phases") << '\n';

  if (!phases.empty()) {
    out << '\n';
    std::vector<Row> rows;
    for (const auto& p : phases) {
      const auto& load = rf::obj(p, "load");
      const auto& req = rf::obj(load, "requests");
      const auto& sched = rf::obj(load, "schedule");
      const auto& lat = rf::obj(load, "latency_seconds");
      const auto& apdex = rf::obj(load, "apdex");
      const auto start = rf::num(p, "start_seconds"), end = rf::num(p, "end_seconds");
      std::string span = start && end ? time_s(*start) + "-" + time_s(*end) + " s" : "n/a";
      rows.push_back({rf::str(p, "name"), span, rf::flag(p, "fault") ? "yes" : "no",
                      opt_number(rf::num(req, "total")), count_text(rf::num(sched, "unsent")),
                      opt_number(rf::num(load, "error_ratio"), 100, " %"),
                      opt_number(rf::num(load, "throughput_rps")),
                      seconds_human(rf::num(lat, "p50")), seconds_human(rf::num(lat, "p99")),
                      apdex_text(rf::num(apdex, "score"))});
    }
    print_table(
        out,
        {"PHASE", "TIME", "FAULT", "REQUESTS", "UNSENT", "ERRORS", "REQ/S", "P50", "P99", "APDEX"},
        rows, {false, false, false, true, true, true, true, true, true, true});
  }

  out << '\n';
  std::size_t failed = 0, not_evaluated = 0, inconclusive = 0;
  if (assertions.empty()) {
    out << "  (no assertions)\n";
  } else {
    std::vector<Row> rows;
    for (const auto& a : assertions) {
      const auto v = rf::str(a, "verdict");
      std::string shown = v == "pass"           ? "PASS"
                          : v == "fail"         ? "FAIL"
                          : v == "not_run"      ? "NOT RUN"
                          : v == "inconclusive" ? "INCONCLUSIVE"
                                                : "ERROR";
      if (v == "fail") ++failed;
      if (v == "inconclusive") ++inconclusive;
      if (v != "pass" && v != "fail" && v != "inconclusive") ++not_evaluated;
      rows.push_back({rf::str(a, "phase", "-"), rf::str(a, "name", rf::str(a, "kind")),
                      measured_text(a), rf::display(rf::any(a, "bound")), shown});
    }
    print_table(out, {"PHASE", "ASSERTION", "MEASURED", "BOUND", "VERDICT"}, rows,
                {false, false, true, false, false});
  }

  bool header = false;
  for (const auto& a : assertions) {
    const auto v = rf::str(a, "verdict");
    if (v == "pass" || v == "not_run") continue;
    if (!header) {
      out << '\n';
      header = true;
    }
    out << "  "
        << (v == "fail"           ? "FAIL "
            : v == "inconclusive" ? "INCONCLUSIVE "
                                  : "ERROR ")
        << rf::str(a, "name", rf::str(a, "kind"));
    if (auto ph = rf::str(a, "phase"); !ph.empty()) out << " [" << ph << "]";
    if (auto m = rf::str(a, "message"); !m.empty()) out << ": " << m;
    out << '\n';
  }

  const auto verdict = rf::str(results, "verdict", "error");
  out << '\n';
  // What the reader must know besides the verdict (a fault phase whose toxics injected nothing, an
  // incomplete run record).
  for (const auto& w : rf::arr(results, "warnings"))
    if (w.is_string()) out << "warning: " << w.get<std::string>() << '\n';
  const nlohmann::json& partial = rf::any(results, "partial");
  if (partial.is_boolean() && partial.get<bool>())
    out << "Partial results as of " << rf::number(rf::num(results, "as_of_seconds").value_or(0), 0)
        << " s (" << not_evaluated << " assertions not run yet)\n";
  if (verdict == "interrupted") {
    const auto so_far = rf::str(results, "completed_verdict");
    out << "Verdict: INTERRUPTED (" << not_evaluated << " of " << assertions.size()
        << " assertions not run; what ran " << (so_far == "pass" ? "passed" : "FAILED") << ": "
        << failed << " failed)\n";
  } else if (verdict == "pass") {
    out << "Verdict: PASS (" << assertions.size() << " of " << assertions.size()
        << " assertions held)\n";
  } else if (verdict == "fail") {
    out << "Verdict: FAIL (" << failed << " of " << assertions.size() << " assertions failed";
    if (inconclusive) out << ", " << inconclusive << " inconclusive";
    if (not_evaluated) out << ", " << not_evaluated << " not evaluated";
    out << ")\n";
  } else {
    out << "Verdict: ERROR";
    if (auto e = rf::str(results, "error"); !e.empty()) out << " (" << e << ")";
    out << '\n';
  }
  return out.str();
}

}  // namespace faultline::runner
