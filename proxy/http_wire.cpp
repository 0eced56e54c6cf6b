// See http_wire.hpp. The phrases are the IANA HTTP Status Code Registry's (RFC 9110 and the
// extensions it lists), plus 418 from RFC 2324 as most servers send it.
#include "proxy/http_wire.hpp"

#include <algorithm>
#include <cctype>

#include <boost/beast/http/rfc7230.hpp>
#include <boost/range/iterator_range.hpp>

namespace faultline::proxy {

namespace {

bool has_token(const http::request_header<>& req, http::field f, std::string_view token) {
  for (const auto& field : boost::make_iterator_range(req.equal_range(f)))
    if (http::token_list(field.value()).exists(token)) return true;
  return false;
}

}  // namespace

bool is_websocket_upgrade(const http::request_header<>& req) {
  return req.version() >= 11 && req.method() == http::verb::get &&
         has_token(req, http::field::connection, "upgrade") &&
         has_token(req, http::field::upgrade, "websocket") &&
         req[http::field::sec_websocket_version] == "13" &&
         !req[http::field::sec_websocket_key].empty();
}

void strip_upgrade(http::request_header<>& req) {
  if (req.find(http::field::upgrade) == req.end()) return;
  req.erase(http::field::upgrade);
  std::string kept;
  for (const auto& field : boost::make_iterator_range(req.equal_range(http::field::connection)))
    for (const auto& token : http::token_list(field.value())) {
      if (beast::iequals(token, "upgrade")) continue;
      if (!kept.empty()) kept += ", ";
      kept.append(token.data(), token.size());
    }
  req.erase(http::field::connection);
  if (!kept.empty()) req.set(http::field::connection, kept);
}

std::string_view reason_phrase(unsigned status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 102:
      return "Processing";
    case 103:
      return "Early Hints";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 203:
      return "Non-Authoritative Information";
    case 204:
      return "No Content";
    case 205:
      return "Reset Content";
    case 206:
      return "Partial Content";
    case 207:
      return "Multi-Status";
    case 208:
      return "Already Reported";
    case 226:
      return "IM Used";
    case 300:
      return "Multiple Choices";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 305:
      return "Use Proxy";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 402:
      return "Payment Required";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 407:
      return "Proxy Authentication Required";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 418:
      return "I'm a teapot";
    case 421:
      return "Misdirected Request";
    case 422:
      return "Unprocessable Content";
    case 423:
      return "Locked";
    case 424:
      return "Failed Dependency";
    case 425:
      return "Too Early";
    case 426:
      return "Upgrade Required";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 451:
      return "Unavailable For Legal Reasons";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    case 506:
      return "Variant Also Negotiates";
    case 507:
      return "Insufficient Storage";
    case 508:
      return "Loop Detected";
    case 510:
      return "Not Extended";
    case 511:
      return "Network Authentication Required";
    default:
      return "";
  }
}

bool is_media_type(std::string_view content_type, std::string_view type) {
  std::string_view v = content_type.substr(0, content_type.find(';'));
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
    v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
    v.remove_suffix(1);
  return v.size() == type.size() &&
         std::equal(v.begin(), v.end(), type.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         });
}

}  // namespace faultline::proxy
