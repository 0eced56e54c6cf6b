// --threshold expressions: parsing and evaluation on the results JSON (see threshold.hpp).
#include "loadgen/threshold.hpp"

#include <array>
#include <utility>

#include "common/files.hpp"
#include "loadgen/stats.hpp"

namespace faultline::loadgen {
namespace {

constexpr std::array<std::string_view, 7> kLatency = {"p50",   "p90", "p99", "p999",
                                                      "p9999", "max", "mean"};

bool is_latency_name(std::string_view m) {
  for (auto n : kLatency)
    if (m == n) return true;
  return false;
}

// "checks", "checks{NAME}", "checks{NAME}.failed", "checks{NAME}.passed": the check name ("" =
// every check) and the field ("failure_ratio", "failed" or "passed"); nullopt when not a checks
// metric, {"?", ..} when malformed.
std::optional<std::pair<std::string, std::string>> checks_metric(std::string_view m) {
  if (m.rfind("checks", 0) != 0) return std::nullopt;
  std::string_view rest = m.substr(6);
  std::string name;
  if (!rest.empty() && rest.front() == '{') {
    const auto close = rest.find('}');
    if (close == std::string_view::npos || close == 1) return std::pair{"?", ""};
    name = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
  }
  if (rest.empty()) return std::pair{name, "failure_ratio"};
  if (rest == ".failed" || rest == ".passed") return std::pair{name, std::string(rest.substr(1))};
  if (rest == ".failure_ratio") return std::pair{name, "failure_ratio"};
  return std::pair{"?", ""};
}

}  // namespace

std::optional<Threshold> parse_threshold(std::string_view text, std::string& error) {
  Threshold t;
  t.expr = std::string(text);
  const auto op_pos = text.find_first_of("<>");
  if (op_pos == std::string_view::npos) {
    error = "--threshold \"" + t.expr + "\": expected METRIC<VALUE, METRIC<=VALUE, > or >=";
    return std::nullopt;
  }
  std::string_view lhs = trim(text.substr(0, op_pos));
  std::string_view rest = text.substr(op_pos);
  if (rest.size() > 1 && rest[1] == '=') {
    t.op = std::string(rest.substr(0, 2));
    rest.remove_prefix(2);
  } else {
    t.op = std::string(rest.substr(0, 1));
    rest.remove_prefix(1);
  }
  std::string_view value = trim(rest);
  if (auto colon = lhs.rfind(':'); colon != std::string_view::npos) {
    t.scope = std::string(trim(lhs.substr(0, colon)));
    lhs = trim(lhs.substr(colon + 1));
    if (t.scope.empty()) {
      error = "--threshold \"" + t.expr + "\": empty request name before ':'";
      return std::nullopt;
    }
  }
  std::string metric(lhs);
  if (metric == "rps") metric = "throughput_rps";
  bool latency = false;
  if (is_latency_name(metric)) {
    latency = true;
  } else if (metric.rfind("uncorrected.", 0) == 0 && is_latency_name(metric.substr(12))) {
    latency = true;
  } else if (metric.rfind("errors.", 0) == 0) {
    if (metric != "errors.unsent" && !error_kind_from_name(metric.substr(7))) {
      error = "--threshold \"" + t.expr +
              "\": unknown error kind (connect_refused, connect_timeout, reset, read_timeout, "
              "http_4xx, http_5xx, bad_response, invalid_request, closed, unsent)";
      return std::nullopt;
    }
  } else if (const auto c = checks_metric(metric)) {
    if (c->first == "?") {
      error = "--threshold \"" + t.expr +
              "\": expected checks, checks{NAME}, checks{NAME}.failed or checks{NAME}.passed";
      return std::nullopt;
    }
    if (!t.scope.empty()) {
      error = "--threshold \"" + t.expr + "\": checks are named by check, not by request";
      return std::nullopt;
    }
    t.check = c->first;
  } else if (metric == "unsent_ratio" || metric == "late_ratio") {
    if (!t.scope.empty()) {
      error = "--threshold \"" + t.expr + "\": " + metric +
              " applies to the whole run, not to a request name";
      return std::nullopt;
    }
  } else if (metric == "reconnects" || metric == "ended_early_ratio") {
    t.session = true;
  } else if (metric != "error_ratio" && metric != "throughput_rps" && metric != "requests" &&
             metric != "ok" && metric != "failed") {
    error = "--threshold \"" + t.expr + "\": unknown metric \"" + metric + "\"";
    return std::nullopt;
  }
  t.metric = metric;
  std::optional<double> v;
  if (latency) {
    if (auto d = parse_duration(value)) v = std::chrono::duration<double>(*d).count();
  } else if (!value.empty() && value.back() == '%') {
    if (auto p = parse_rate(value.substr(0, value.size() - 1))) v = *p / 100.0;
  } else {
    v = parse_rate(value);
  }
  if (!v) {
    error = "--threshold \"" + t.expr + "\": bad value \"" + std::string(value) + "\"" +
            (latency ? " (expected a duration such as 200ms)" : "");
    return std::nullopt;
  }
  t.limit = *v;
  return t;
}

std::optional<double> threshold_value(const Threshold& t, const json& results) {
  if (t.session) {
    const auto sessions = results.find("sessions");
    if (sessions == results.end() || !sessions->is_object()) return std::nullopt;
    if (!t.scope.empty() && !sessions->contains(t.scope)) return std::nullopt;
    SessionCounts sum;
    for (const auto& [name, c] : sessions->items())
      if (t.scope.empty() || name == t.scope) sum += SessionCounts::from_json(c);
    if (t.metric == "reconnects") return static_cast<double>(sum.reconnects);
    return sum.opened > 0 ? static_cast<double>(sum.ended_early) / static_cast<double>(sum.opened)
                          : 0.0;
  }
  const json* scope = &results;
  if (!t.scope.empty()) {
    auto by = results.find("requests_by_name");
    if (by == results.end() || !by->contains(t.scope)) return std::nullopt;
    scope = &(*by)[t.scope];
  }
  const json& s = *scope;
  const auto& m = t.metric;
  if (const auto c = checks_metric(m)) {
    // A name the workload does not declare is no value (the threshold fails, naming it).
    const auto checks = results.find("checks");
    if (checks == results.end() || !checks->is_object()) return std::nullopt;
    double passed = 0, failed = 0;
    for (const auto& [name, v] : checks->items()) {
      if (!c->first.empty() && name != c->first) continue;
      passed += v.value("passed", 0.0);
      failed += v.value("failed", 0.0);
    }
    if (!c->first.empty() && !checks->contains(c->first)) return std::nullopt;
    if (c->second == "passed") return passed;
    if (c->second == "failed") return failed;
    return passed + failed > 0 ? failed / (passed + failed) : 0.0;
  }
  if (is_latency_name(m)) return s["latency_seconds"][m].get<double>();
  if (m.rfind("uncorrected.", 0) == 0)
    return s["latency_uncorrected_seconds"][m.substr(12)].get<double>();
  if (m.rfind("errors.", 0) == 0) return s["errors"].value(m.substr(7), 0.0);
  if (m == "throughput_rps") return s["throughput_rps"].get<double>();
  if (m == "unsent_ratio" || m == "late_ratio") {
    // null (nothing offered, or nothing sent): nothing was late or unsent.
    auto sched = s.find("schedule");
    if (sched == s.end() || !sched->is_object()) return 0.0;
    auto v = sched->find(m);
    return v != sched->end() && v->is_number() ? v->get<double>() : 0.0;
  }
  const auto total = s["requests"]["total"].get<double>();
  if (m == "requests") return total;
  if (m == "ok") return s["requests"]["ok"].get<double>();
  if (m == "failed") return s["requests"]["failed"].get<double>();
  // error_ratio: arrivals never sent (requests.unsent, open model) count as failed requests.
  const double never_sent = s["requests"].value("unsent", 0.0);
  const double all = total + never_sent;
  return all > 0 ? (s["requests"]["failed"].get<double>() + never_sent) / all : 1.0;
}

bool threshold_holds(const Threshold& t, double value) noexcept {
  if (t.op == "<") return value < t.limit;
  if (t.op == "<=") return value <= t.limit;
  if (t.op == ">") return value > t.limit;
  return value >= t.limit;
}

}  // namespace faultline::loadgen
