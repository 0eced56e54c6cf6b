// Request matching (see match.hpp).
#include "proxy/behaviors/match.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace faultline::proxy {

namespace {
std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}
}  // namespace

bool RequestMatch::matches(const RequestInfo& req) const {
  if (command && upper(std::string(req.method)) != *command) return false;
  if (method && req.method != *method) return false;
  std::string_view path = req.target;
  if (auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  if (path_prefix && path.substr(0, path_prefix->size()) != *path_prefix) return false;
  if (path_regex && !path_regex->full_match(path)) return false;
  if (header_name) {
    if (!req.header) return false;
    auto v = req.header(*header_name);
    if (!v) return false;
    if (header_value && *v != *header_value) return false;
  }
  return true;
}

void RequestMatch::add_to(json& attrs) const {
  if (method) attrs["method"] = *method;
  if (path_prefix) attrs["path_prefix"] = *path_prefix;
  if (path_regex_text) attrs["path_regex"] = *path_regex_text;
  if (header_name) attrs["header_name"] = *header_name;
  if (header_value) attrs["header_value"] = *header_value;
  if (command) attrs["command"] = *command;
}

void reject_unknown_http_keys(const json& attrs, const std::string& path,
                              std::initializer_list<std::string_view> own, ConfigErrors& errors) {
  static constexpr std::string_view kMatchKeys[] = {"method", "path_prefix", "path_regex",
                                                    "header_name", "header_value"};
  if (!attrs.is_object()) return;
  for (const auto& [k, _] : attrs.items()) {
    if (std::find(own.begin(), own.end(), k) == own.end() &&
        std::find(std::begin(kMatchKeys), std::end(kMatchKeys), k) == std::end(kMatchKeys))
      errors.add(path_join(path, k), "unknown field");
  }
}

RequestMatch parse_http_match(const json& attrs, const std::string& path, ConfigErrors& errors) {
  RequestMatch m;
  m.method = get_string(attrs, path, "method", errors);
  if (m.method && m.method->empty()) errors.add(path_join(path, "method"), "must not be empty");
  m.path_prefix = get_string(attrs, path, "path_prefix", errors);
  if (m.path_prefix && (m.path_prefix->empty() || m.path_prefix->front() != '/'))
    errors.add(path_join(path, "path_prefix"), "must start with '/'");
  if (auto r = get_string(attrs, path, "path_regex", errors)) {
    std::string why;
    m.path_regex = SafeRegex::compile(*r, why);
    if (m.path_regex)
      m.path_regex_text = *r;
    else
      errors.add(path_join(path, "path_regex"), fmt::format("invalid regex (RE2 syntax): {}", why));
  }

  m.header_name = get_string(attrs, path, "header_name", errors);
  m.header_value = get_string(attrs, path, "header_value", errors);
  if (m.header_name && m.header_name->empty())
    errors.add(path_join(path, "header_name"), "must not be empty");
  if (m.header_value && !m.header_name)
    errors.add(path_join(path, "header_value"), "needs header_name");
  return m;
}

bool is_header_name(std::string_view name) {
  static constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  for (unsigned char c : name)
    if (!std::isalnum(c) && extra.find(static_cast<char>(c)) == std::string_view::npos)
      return false;
  return !name.empty();
}

std::vector<std::pair<std::string, std::string>> parse_header_values(const json& attrs,
                                                                     const std::string& path,
                                                                     const char* key,
                                                                     ConfigErrors& errors) {
  std::vector<std::pair<std::string, std::string>> headers;
  auto it = attrs.find(key);
  if (it == attrs.end() || it->is_null()) return headers;
  if (!it->is_object()) {
    errors.add(path_join(path, key), "must be an object of header name to value");
    return headers;
  }
  for (const auto& [k, v] : it->items()) {
    const std::string hp = path_join(path_join(path, key), k);
    if (!v.is_string() || k.empty()) {
      errors.add(hp, "must be a string");
    } else if (!is_header_name(k)) {
      errors.add(hp, "the header name must be an HTTP token (letters, digits, !#$%&'*+-.^_`|~)");
    } else if (v.get<std::string>().find_first_of(std::string("\r\n\0", 3)) != std::string::npos) {
      errors.add(hp, "the value must not contain CR, LF or NUL");
    } else {
      headers.emplace_back(k, v.get<std::string>());
    }
  }
  return headers;
}

RequestMatch parse_redis_match(const json& attrs, const std::string& path, ConfigErrors& errors) {
  RequestMatch m;
  if (auto c = get_string(attrs, path, "command", errors)) {
    if (c->empty() || c->find(' ') != std::string::npos)
      errors.add(path_join(path, "command"), "must be one command name like \"GET\"");
    else
      m.command = upper(*c);
  }
  return m;
}

}  // namespace faultline::proxy
