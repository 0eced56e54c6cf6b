// See response_rewrite.hpp.
#include "proxy/response_rewrite.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace faultline::proxy {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<unsigned> to_status(std::string_view s) {
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 100 || v > 599) return std::nullopt;
  return v;
}

// One rule: 503, "503", "5xx", "500-599".
std::optional<std::pair<unsigned, unsigned>> status_range(const json& v) {
  if (v.is_number_integer()) {
    const auto n = v.get<std::int64_t>();
    if (n < 100 || n > 599) return std::nullopt;
    return std::pair{static_cast<unsigned>(n), static_cast<unsigned>(n)};
  }
  if (!v.is_string()) return std::nullopt;
  const std::string s = v.get<std::string>();
  if (s.size() == 3 && s[0] >= '1' && s[0] <= '5' && (s[1] == 'x' || s[1] == 'X') &&
      (s[2] == 'x' || s[2] == 'X')) {
    const unsigned c = static_cast<unsigned>(s[0] - '0');
    return std::pair{c * 100, c * 100 + 99};
  }
  if (const auto dash = s.find('-'); dash != std::string::npos) {
    const auto lo = to_status(std::string_view(s).substr(0, dash));
    const auto hi = to_status(std::string_view(s).substr(dash + 1));
    if (!lo || !hi || *lo > *hi) return std::nullopt;
    return std::pair{*lo, *hi};
  }
  if (const auto one = to_status(s)) return std::pair{*one, *one};
  return std::nullopt;
}

}  // namespace

bool StatusRanges::contains(unsigned status) const {
  return std::any_of(ranges.begin(), ranges.end(),
                     [&](const auto& r) { return status >= r.first && status <= r.second; });
}

std::optional<StatusRanges> parse_status_ranges(const json& v, const std::string& path,
                                                ConfigErrors& errors) {
  StatusRanges out;
  const std::size_t before = errors.list().size();
  auto one = [&](const json& item, const std::string& at) {
    if (auto r = status_range(item))
      out.ranges.push_back(*r);
    else
      errors.add(at,
                 "must be a status (503), a class (\"5xx\") or a range (\"500-599\") "
                 "within 100..599");
  };
  if (v.is_array()) {
    if (v.empty()) errors.add(path, "must not be empty");
    for (std::size_t i = 0; i < v.size(); ++i)
      one(v[i], fmt::format("{}[{}]", path, i));
  } else {
    one(v, path);
  }
  if (errors.list().size() != before) return std::nullopt;
  return out;
}

bool is_framing_header(std::string_view name) {
  for (std::string_view f :
       {"content-length", "transfer-encoding", "connection", "upgrade", "trailer"})
    if (iequals(name, f)) return true;
  return false;
}

bool ResponseRewrite::matches(unsigned code, std::string_view type) const {
  if (response_status && !response_status->contains(code)) return false;
  if (content_type && (type.size() < content_type->size() ||
                       !iequals(type.substr(0, content_type->size()), *content_type)))
    return false;
  return true;
}

void ResponseRewrite::rewrite_head(boost::beast::http::response_header<>& res) const {
  if (status) res.result(*status);
  for (const auto& [name, value] : set_headers)
    res.set(name, value);
  for (const auto& name : remove_headers)
    res.erase(name);
}

std::optional<RewriteSkip> ResponseRewrite::rewrite_body(std::string& content, bool encoded) const {
  if (body) {
    content = *body;
    return std::nullopt;
  }
  if (!json_patch) return std::nullopt;
  if (encoded) return RewriteSkip::encoded;
  std::optional<json> doc = parse_json(content);
  if (!doc) return RewriteSkip::not_json;
  try {
    content = doc->patch(*json_patch).dump();
  } catch (const json::exception&) {
    // A `test` that failed, a path that is not there, an index out of range.
    return RewriteSkip::patch_failed;
  }
  return std::nullopt;
}

}  // namespace faultline::proxy
