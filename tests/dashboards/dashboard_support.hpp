// Helpers shared by the dashboard tests: load every Grafana dashboard of dashboards/, walk its
// panels (rows included), extract the metric names a PromQL expression uses, parse METRICS.md's
// tables, and substitute Grafana's template variables so Prometheus can run an expression.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/support.hpp"

namespace faultline::test::dashboards {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Dashboard {
  std::string file;
  nlohmann::json json;
};

inline std::vector<Dashboard> load_dashboards() {
  std::vector<Dashboard> out;
  const auto dir = std::filesystem::path(source_dir()) / "dashboards" / "grafana" / "dashboards";
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".json")
      out.push_back({e.path().string(), nlohmann::json::parse(read_text(e.path().string()))});
  return out;
}

// Every panel, depth first: top-level panels and the panels nested in (collapsed) rows.
inline std::vector<const nlohmann::json*> all_panels(const nlohmann::json& dashboard) {
  std::vector<const nlohmann::json*> out;
  std::vector<const nlohmann::json*> stack;
  auto push_children = [&](const nlohmann::json& parent) {
    if (parent.contains("panels") && parent["panels"].is_array())
      for (auto it = parent["panels"].rbegin(); it != parent["panels"].rend(); ++it)
        stack.push_back(&*it);
  };
  push_children(dashboard);
  while (!stack.empty()) {
    const auto* p = stack.back();
    stack.pop_back();
    out.push_back(p);
    push_children(*p);
  }
  return out;
}

// PromQL expression -> the metric names it selects. Strings, label matchers, range/offset
// brackets and grouping clauses are removed first; what remains that is an identifier not followed
// by '(' (a function) and not a keyword is a metric name.
inline std::set<std::string> metric_names(const std::string& expr) {
  std::string e = std::regex_replace(expr, std::regex(R"("([^"\\]|\\.)*")"), "\"\"");
  e = std::regex_replace(e, std::regex(R"(\{[^}]*\})"), " ");
  e = std::regex_replace(e, std::regex(R"(\[[^\]]*\])"), " ");
  e = std::regex_replace(
      e, std::regex(R"(\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\))"), " ");
  static const std::set<std::string> keywords = {
      "by", "without", "on",     "ignoring", "group_left", "group_right", "bool", "and",
      "or", "unless",  "offset", "inf",      "nan",        "Inf",         "NaN",  "atan2"};
  std::set<std::string> out;
  std::regex ident(R"([a-zA-Z_:][a-zA-Z0-9_:]*)");
  for (auto it = std::sregex_iterator(e.begin(), e.end(), ident); it != std::sregex_iterator();
       ++it) {
    const auto name = it->str();
    const auto end = static_cast<std::size_t>(it->position() + it->length());
    std::size_t k = end;
    while (k < e.size() && (e[k] == ' ' || e[k] == '\t' || e[k] == '\n'))
      ++k;
    if (k < e.size() && e[k] == '(') continue;  // function call
    if (it->position() > 0 && (std::isdigit(static_cast<unsigned char>(e[it->position() - 1])) ||
                               e[it->position() - 1] == '.'))
      continue;  // part of a number such as 1e3
    if (keywords.count(name)) continue;
    out.insert(name);
  }
  return out;
}

// METRICS.md: every table row whose first cell is a `backticked_name` (optionally followed by
// `{labels}` inside the backticks); value = the first cell of that row that names a Prometheus
// metric type ("" if none), whatever the column order of a component's table.
inline std::map<std::string, std::string> documented_metrics() {
  std::map<std::string, std::string> out;
  std::istringstream in(read_text(source_dir() + "/METRICS.md"));
  std::string line;
  std::regex row(R"(^\|\s*`([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^`]*\})?`\s*\|(.*)$)");
  std::regex type(R"(\|\s*`?(counter|gauge|histogram|summary|untyped)`?\s*(?=\|))");
  std::smatch m, t;
  while (std::getline(in, line)) {
    if (!std::regex_search(line, m, row)) continue;
    std::string rest = "|";  // (not "|" + str: GCC 12 -Wrestrict false positive at -O3)
    rest += m[3].str();
    out[m[1].str()] = std::regex_search(rest, t, type) ? t[1].str() : "";
  }
  return out;
}

// A name a panel may use: documented, or a documented histogram's _bucket/_sum/_count series.
inline bool is_documented(const std::map<std::string, std::string>& docs, const std::string& name) {
  if (docs.count(name)) return true;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      auto it = docs.find(name.substr(0, name.size() - s.size()));
      if (it != docs.end() && it->second == "histogram") return true;
    }
  }
  return false;
}

// Grafana variables -> values Prometheus accepts: $__rate_interval and friends become durations,
// dashboard variables their "All" value.
inline std::string substitute(std::string expr, const nlohmann::json& dashboard,
                              const std::string& rate_interval = "5s") {
  std::vector<std::pair<std::string, std::string>> vars = {
      {"$__rate_interval", rate_interval}, {"$__interval", "1s"}, {"$__range", "1m"}};
  if (dashboard.contains("templating"))
    for (const auto& v : dashboard["templating"].value("list", nlohmann::json::array())) {
      // (appending instead of "$" + name: GCC 12 -Wrestrict false positive at -O3)
      std::string var = "$";
      var += v.value("name", std::string());
      vars.emplace_back(var, v.value("allValue", ".*"));
    }
  for (const auto& [var, value] : vars)
    for (auto pos = expr.find(var); pos != std::string::npos; pos = expr.find(var, pos))
      expr.replace(pos, var.size(), value);
  return expr;
}

}  // namespace faultline::test::dashboards
