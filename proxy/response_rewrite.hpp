// What `http_rewrite` does to an upstream response (docs/design/issue-24.md §3), without sockets:
// which responses it applies to (status and Content-Type rules), the head changes (status, set
// and removed headers) and the body changes (a replacement, or an RFC 6902 JSON Patch applied by
// nlohmann's json::patch). The relay (http_rewrite_relay.cpp) buffers the body when a rewrite
// needs it and calls these; a rewrite that cannot apply says why (the skip reasons of
// faultline_proxy_rewrites_skipped_total) and leaves the response as it came.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http/message.hpp>

#include "proxy/behavior.hpp"
#include "proxy/proxy_metrics.hpp"

namespace faultline::proxy {

// Response statuses: "503", 503, "5xx", "500-599", or a list of those.
struct StatusRanges {
  std::vector<std::pair<unsigned, unsigned>> ranges;  // inclusive
  bool contains(unsigned status) const;
};
// Reads a status rule at `path` (a JSON integer, string or array of those); nullopt after
// recording errors.
std::optional<StatusRanges> parse_status_ranges(const json& v, const std::string& path,
                                                ConfigErrors& errors);

// The framing headers the proxy owns: never set or removed by a rewrite.
bool is_framing_header(std::string_view name);

struct ResponseRewrite {
  // Response rules (the request rules are the behavior's RequestMatch).
  std::optional<StatusRanges> response_status;
  std::optional<std::string> content_type;  // prefix of the Content-Type value, without case
  // Changes, applied in this order.
  std::optional<unsigned> status;
  std::vector<std::pair<std::string, std::string>> set_headers;
  std::vector<std::string> remove_headers;
  std::optional<std::string> body;  // replaces the body (Content-Encoding removed)
  std::optional<json> json_patch;   // RFC 6902 operations, checked at parse time

  bool matches(unsigned status, std::string_view content_type) const;
  bool changes_body() const { return body.has_value() || json_patch.has_value(); }
  // The head changes, on `res` (its reason phrase is the caller's).
  void rewrite_head(boost::beast::http::response_header<>& res) const;
  // The body changes on `content` (the whole upstream body; `encoded`: it has a Content-Encoding
  // other than identity): nullopt when done, else why the rewrite is skipped (`content` is then
  // as it was).
  std::optional<RewriteSkip> rewrite_body(std::string& content, bool encoded) const;
};

}  // namespace faultline::proxy
