// Response checks: parsing (every error with its JSON path) and evaluation; see checks.hpp.
#include "loadgen/checks.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "loadgen/http1.hpp"

namespace faultline::loadgen {
namespace {

bool valid_check_name(std::string_view n) {
  return !n.empty() && n.size() <= 64 && std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-';
  });
}

bool valid_token(std::string_view n) {
  return !n.empty() && std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

std::optional<unsigned> status_number(std::string_view s) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v < 100 || v > 599) return std::nullopt;
  return v;
}

// 200, "200", "2xx", "200-299".
std::optional<std::pair<unsigned, unsigned>> status_range(const json& v) {
  if (v.is_number_unsigned()) {
    const auto n = v.get<std::uint64_t>();
    if (n < 100 || n > 599) return std::nullopt;
    return std::pair{static_cast<unsigned>(n), static_cast<unsigned>(n)};
  }
  if (!v.is_string()) return std::nullopt;
  const auto s = v.get<std::string>();
  if (s.size() == 3 && s[0] >= '1' && s[0] <= '5' && (s[1] == 'x' || s[1] == 'X') &&
      (s[2] == 'x' || s[2] == 'X')) {
    const auto lo = static_cast<unsigned>(s[0] - '0') * 100;
    return std::pair{lo, lo + 99};
  }
  if (const auto dash = s.find('-'); dash != std::string::npos) {
    const auto lo = status_number(std::string_view(s).substr(0, dash));
    const auto hi = status_number(std::string_view(s).substr(dash + 1));
    if (!lo || !hi || *lo > *hi) return std::nullopt;
    return std::pair{*lo, *hi};
  }
  if (const auto n = status_number(s)) return std::pair{*n, *n};
  return std::nullopt;
}

void parse_one(const json& c, const std::string& path, CheckSpec& spec, ConfigErrors& errors) {
  if (!c.is_object()) {
    errors.add(path,
               "must be an object: {\"status\": ...}, {\"header\": NAME, [\"equals\" | "
               "\"matches\"]}, {\"json\": POINTER, [\"equals\"]} or {\"body_matches\": RE2}");
    return;
  }
  reject_unknown_keys(c, path, {"status", "header", "json", "body_matches", "equals", "matches"},
                      errors);
  const int kinds = static_cast<int>(c.contains("status")) +
                    static_cast<int>(c.contains("header")) + static_cast<int>(c.contains("json")) +
                    static_cast<int>(c.contains("body_matches"));
  if (kinds != 1) {
    errors.add(path, "needs exactly one of status, header, json, body_matches");
    return;
  }
  auto compile = [&](const json& pattern, const std::string& at) {
    if (!pattern.is_string()) {
      errors.add(at, "must be a string (an RE2 regular expression)");
      return;
    }
    std::string error;
    spec.regex = SafeRegex::compile(pattern.get<std::string>(), error);
    if (!spec.regex) errors.add(at, "invalid regular expression: " + error);
  };
  if (c.contains("status")) {
    spec.kind = CheckSpec::Kind::status;
    if (c.contains("equals") || c.contains("matches"))
      errors.add(path, "status takes its values itself (a value, a list, \"2xx\" or \"200-299\")");
    const json& s = c["status"];
    const std::string spath = path_join(path, "status");
    if (s.is_array()) {
      if (s.empty()) errors.add(spath, "must not be empty");
      for (std::size_t i = 0; i < s.size(); ++i) {
        if (auto r = status_range(s[i]))
          spec.status.push_back(*r);
        else
          errors.add(path_index(spath, i), "must be a status 100-599, \"2xx\" or \"200-299\"");
      }
    } else if (auto r = status_range(s)) {
      spec.status.push_back(*r);
    } else {
      errors.add(spath, "must be a status 100-599, \"2xx\", \"200-299\" or a list of them");
    }
  } else if (c.contains("header")) {
    spec.kind = CheckSpec::Kind::header;
    const json& h = c["header"];
    if (!h.is_string() || !valid_token(h.get<std::string>()))
      errors.add(path_join(path, "header"), "must be a header name");
    else
      spec.where = h.get<std::string>();
    if (c.contains("equals") && c.contains("matches"))
      errors.add(path, "equals and matches exclude each other");
    if (c.contains("equals")) {
      if (!c["equals"].is_string())
        errors.add(path_join(path, "equals"), "must be a string (a header value)");
      else
        spec.equals = c["equals"];
    }
    if (c.contains("matches")) compile(c["matches"], path_join(path, "matches"));
  } else if (c.contains("json")) {
    spec.kind = CheckSpec::Kind::json;
    const json& p = c["json"];
    if (!p.is_string()) {
      errors.add(path_join(path, "json"), "must be a JSON pointer such as \"/id\"");
    } else {
      spec.where = p.get<std::string>();
      try {
        (void)json::json_pointer(spec.where);
      } catch (const json::exception&) {
        errors.add(path_join(path, "json"), "invalid JSON pointer \"" + spec.where + "\"");
      }
    }
    if (c.contains("matches"))
      errors.add(path_join(path, "matches"), "applies to header and body_matches checks only");
    if (c.contains("equals")) spec.equals = c["equals"];
  } else {
    spec.kind = CheckSpec::Kind::body;
    if (c.contains("equals") || c.contains("matches"))
      errors.add(path, "body_matches takes its pattern itself");
    compile(c["body_matches"], path_join(path, "body_matches"));
  }
}

}  // namespace

std::vector<CheckSpec> parse_checks(const json& value, const std::string& path,
                                    std::vector<std::string>& names, ConfigErrors& errors) {
  std::vector<CheckSpec> out;
  if (!value.is_object() || value.empty()) {
    errors.add(path, "must be a non-empty object {\"NAME\": {check}, ...}");
    return out;
  }
  for (const auto& [name, c] : value.items()) {
    const std::string cpath = path_join(path, name);
    if (!valid_check_name(name)) {
      errors.add(cpath, "a check name is 1-64 letters, digits, '_', '.' or '-'");
      continue;
    }
    CheckSpec spec;
    const auto it = std::find(names.begin(), names.end(), name);
    spec.index = static_cast<std::size_t>(it - names.begin());
    if (it == names.end()) names.push_back(name);
    parse_one(c, cpath, spec, errors);
    out.push_back(std::move(spec));
  }
  return out;
}

bool check_passes(const CheckSpec& check, const CheckedResponse& r) {
  if (r.status == 0) return false;  // no response
  switch (check.kind) {
    case CheckSpec::Kind::status:
      return std::any_of(check.status.begin(), check.status.end(), [&](const auto& range) {
        return r.status >= range.first && r.status <= range.second;
      });
    case CheckSpec::Kind::header: {
      const auto v = find_header(r.head, check.where);
      if (!v) return false;
      if (check.equals) return *v == check.equals->get_ref<const std::string&>();
      if (check.regex) return check.regex->full_match(*v);
      return true;
    }
    case CheckSpec::Kind::json: {
      const json doc = parse_json_or_discarded(r.body);
      if (doc.is_discarded()) return false;
      try {
        const json& v = doc.at(json::json_pointer(check.where));
        return !check.equals || v == *check.equals;
      } catch (const json::exception&) {
        return false;  // absent
      }
    }
    case CheckSpec::Kind::body:
      return check.regex && check.regex->search(r.body);
  }
  return false;
}

void CheckCounts::merge(const CheckCounts& o) {
  if (passed.size() < o.passed.size()) resize(o.passed.size());
  for (std::size_t i = 0; i < o.passed.size(); ++i) {
    passed[i] += o.passed[i];
    failed[i] += o.failed[i];
  }
}

void CheckCounts::reset() {
  std::fill(passed.begin(), passed.end(), 0);
  std::fill(failed.begin(), failed.end(), 0);
}

json CheckCounts::to_json(const std::vector<std::string>& names) const {
  CheckSums sums;
  for (std::size_t i = 0; i < names.size() && i < passed.size(); ++i)
    sums[names[i]] = {passed[i], failed[i]};
  return checks_to_json(sums);
}

namespace {
json check_json(std::uint64_t passed, std::uint64_t failed) {
  const auto all = passed + failed;
  return {{"passed", passed},
          {"failed", failed},
          {"failure_ratio",
           all > 0 ? json(static_cast<double>(failed) / static_cast<double>(all)) : json(nullptr)}};
}
std::uint64_t count_at(const json& obj, const char* key) {
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_integer() || it->get<std::int64_t>() < 0) return 0;
  return it->get<std::uint64_t>();
}
}  // namespace

void add_checks(CheckSums& into, const json& checks) {
  if (!checks.is_object()) return;
  for (const auto& [name, v] : checks.items()) {
    auto& sum = into[name];
    if (!v.is_object()) continue;
    sum.first += count_at(v, "passed");
    sum.second += count_at(v, "failed");
  }
}

json checks_to_json(const CheckSums& sums) {
  json j = json::object();
  for (const auto& [name, pf] : sums)
    j[name] = check_json(pf.first, pf.second);
  return j;
}

}  // namespace faultline::loadgen
