// Scenario placeholders (see placeholders.hpp): a scan and a substitution over every string of the
// document but the embedded workload.
#include "runner/scenario/placeholders.hpp"

#include <fmt/format.h>

namespace faultline::runner {

namespace {

bool skipped(const std::string& path) {
  return path == "$.load.workload";
}

// Calls on_use(name) for each placeholder of `s`; returns the text with `values` substituted.
template <typename F>
std::string scan(const std::string& s, const std::map<std::string, std::string>* values, F&& on_use,
                 std::string* error) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (s.compare(i, 2, "${") != 0) {
      out += s[i++];
      continue;
    }
    const auto close = s.find('}', i + 2);
    if (close == std::string::npos) {
      if (error) *error = fmt::format("unterminated \"${{\" at offset {}", i);
      out += s.substr(i);
      break;
    }
    const std::string name = s.substr(i + 2, close - i - 2);
    if (name.empty() && error) *error = "empty placeholder \"${}\"";
    on_use(name);
    if (values) {
      if (auto it = values->find(name); it != values->end())
        out += it->second;
      else
        out += s.substr(i, close + 1 - i);
    }
    i = close + 1;
  }
  return out;
}

void walk(const json& j, const std::string& path, std::vector<PlaceholderUse>& uses,
          ConfigErrors& errors) {
  if (skipped(path)) return;
  if (j.is_string()) {
    std::string error;
    scan(
        j.get_ref<const std::string&>(), nullptr,
        [&](const std::string& n) {
          if (!n.empty()) uses.push_back({n, path});
        },
        &error);
    if (!error.empty()) errors.add(path, error);
  } else if (j.is_object()) {
    for (const auto& [k, v] : j.items())
      walk(v, path_join(path, k), uses, errors);
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i)
      walk(j[i], path_index(path, i), uses, errors);
  }
}

void replace(json& j, const std::string& path, const std::map<std::string, std::string>& values) {
  if (skipped(path)) return;
  if (j.is_string()) {
    j = scan(
        j.get_ref<const std::string&>(), &values, [](const std::string&) {}, nullptr);
  } else if (j.is_object()) {
    for (auto& [k, v] : j.items())
      replace(v, path_join(path, k), values);
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i)
      replace(j[i], path_index(path, i), values);
  }
}

}  // namespace

std::vector<PlaceholderUse> find_placeholders(const json& doc, ConfigErrors& errors) {
  std::vector<PlaceholderUse> uses;
  walk(doc, "$", uses, errors);
  return uses;
}

json substitute_placeholders(const json& doc, const std::map<std::string, std::string>& values) {
  json out = doc;
  replace(out, "$", values);
  return out;
}

}  // namespace faultline::runner
