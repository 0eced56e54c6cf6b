// Request matching shared by the HTTP and Redis behaviors: an HTTP request matches when its method,
// path prefix or regex, and header all match (each optional); a Redis command by its name.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/safe_regex.hpp"
#include "proxy/behavior.hpp"

namespace faultline::proxy {

struct RequestMatch {
  std::optional<std::string> method;       // HTTP method, exact (case-sensitive, as HTTP)
  std::optional<std::string> path_prefix;  // HTTP target prefix
  std::optional<std::string> path_regex_text;
  // Whole path must match; RE2 (common/safe_regex.hpp), linear in the path, so a client's long
  // path cannot make a pattern backtrack for ever on a proxy worker.
  std::optional<SafeRegex> path_regex;
  std::optional<std::string> header_name;   // the request must carry this header...
  std::optional<std::string> header_value;  // ...with exactly this value (when given)
  std::optional<std::string> command;       // Redis command name (case-insensitive)

  bool matches(const RequestInfo& req) const;
  void add_to(json& attrs) const;
};

// Records "unknown field" for every attribute that is neither one of `own` nor an HTTP matching
// attribute (method, path_prefix, path_regex, header_name, header_value).
void reject_unknown_http_keys(const json& attrs, const std::string& path,
                              std::initializer_list<std::string_view> own, ConfigErrors& errors);
// Reads the HTTP matching attributes (method, path_prefix, path_regex, header_name, header_value).
RequestMatch parse_http_match(const json& attrs, const std::string& path, ConfigErrors& errors);
// Whether `name` is an HTTP token (RFC 9110: letters, digits, !#$%&'*+-.^_`|~), not empty.
bool is_header_name(std::string_view name);
// Reads `key` as an object of header name to value (http_error's headers, http_rewrite's
// set_headers): names must be tokens, values strings without CR, LF or NUL (which would end the
// header and write headers of their own).
std::vector<std::pair<std::string, std::string>> parse_header_values(const json& attrs,
                                                                     const std::string& path,
                                                                     const char* key,
                                                                     ConfigErrors& errors);
// Reads the Redis matching attribute (command).
RequestMatch parse_redis_match(const json& attrs, const std::string& path, ConfigErrors& errors);

}  // namespace faultline::proxy
