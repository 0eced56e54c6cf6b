#include "common/http_request_rules.hpp"

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::http_rules {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

// True when a request head uses obsolete line folding (a field line starting with SP or HTAB).
// Beast unfolds it into the previous field's value, as RFC 9112 §5.2 allows; we reject it, the
// other choice the RFC offers, because a front proxy that reads the folded line as a field of its
// own (" Transfer-Encoding: chunked") would frame the body differently (request smuggling).
bool has_obs_fold(boost::asio::const_buffer head) {
  const std::string_view s(static_cast<const char*>(head.data()), head.size());
  for (std::size_t at = s.find("\r\n"); at != std::string_view::npos; at = s.find("\r\n", at + 2))
    if (at + 2 < s.size() && (s[at + 2] == ' ' || s[at + 2] == '\t')) return true;
  return false;
}

// Request framing that the parser accepted but that cannot be trusted (RFC 9112 §6.1, §6.3):
// unless chunked is the final transfer coding, and applied once, the body length cannot be
// determined; a proxy in front of us may delimit the body differently, and whatever we would read
// as the next request is really the body (request smuggling). Such a request is refused before
// its body is read and the connection is closed. Returns the answer, or nullopt when the framing
// is sound.
std::optional<HttpResponse> framing_error(const HttpRequest& req) {
  std::vector<std::string_view> codings;
  bool has_te = false;
  for (auto [it, end] = req.equal_range(http::field::transfer_encoding); it != end; ++it) {
    has_te = true;
    std::string_view list = it->value();
    while (!list.empty()) {
      const auto comma = list.find(',');
      std::string_view item = list.substr(0, comma);
      list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
      item = trim_ows(item.substr(0, item.find(';')));  // a coding's parameters do not matter
      if (!item.empty()) codings.push_back(item);
    }
  }
  if (!has_te) return std::nullopt;
  const auto bad = [&](std::string why) {
    return json_error(http::status::bad_request, "malformed request: " + why, req.version());
  };
  if (req.version() < 11) return bad("Transfer-Encoding in an HTTP/1.0 request");
  if (req.find(http::field::content_length) != req.end())
    return bad("both Transfer-Encoding and Content-Length");
  if (codings.empty() || !iequals(codings.back(), "chunked"))
    return bad("the final transfer coding is not chunked");
  for (std::size_t i = 0; i + 1 < codings.size(); ++i) {
    if (iequals(codings[i], "chunked")) return bad("chunked is applied more than once");
    return json_error(http::status::not_implemented,
                      "transfer coding '" + std::string(codings[i]) + "' is not supported",
                      req.version());
  }
  return std::nullopt;
}

// RFC 9112 §3.2.2: a server must accept a request target in absolute form
// ("http://host:port/path?query"). Handlers route on the origin form, so the target becomes its
// path and query ("/" when it has no path), and Host becomes the target's authority, as the RFC
// asks.
void to_origin_form(HttpRequest& req) {
  const std::string_view target = req.target();
  std::size_t scheme = 0;
  if (target.size() >= 7 && iequals(target.substr(0, 7), "http://"))
    scheme = 7;
  else if (target.size() >= 8 && iequals(target.substr(0, 8), "https://"))
    scheme = 8;
  else
    return;
  const std::size_t path = target.find_first_of("/?", scheme);
  const std::string authority(target.substr(scheme, path - scheme));
  // "/" when there is no path; "?q" (a query without a path) becomes "/?q".
  std::string origin = "/";
  if (path != std::string_view::npos) {
    const std::string_view rest = target.substr(path);
    if (rest.front() == '/') origin.clear();
    origin.append(rest);
  }
  req.target(origin);
  if (!authority.empty()) req.set(http::field::host, authority);
}

}  // namespace faultline::http_rules
