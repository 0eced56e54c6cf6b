// The load generator's HTTP/1.1 response-head parser and chunked decoder (see http1.hpp).
#include "loadgen/http1.hpp"

#include <charconv>
#include <cstring>

namespace faultline::loadgen {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool icontains_token(std::string_view value, std::string_view token) {
  // Comma-separated list membership, case-insensitive.
  while (!value.empty()) {
    auto comma = value.find(',');
    auto item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
      item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
      item.remove_suffix(1);
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// HTTP's optional whitespace (space and tab) only, kept here rather than common's trim: this
// parser is a leaf the fuzz target compiles alone (fuzz/CMakeLists.txt).
std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
    v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
    v.remove_suffix(1);
  return v;
}

}  // namespace

// One pass over the bytes: memchr finds each line end, and only header names of the three
// framing lengths are compared at all (this runs once per response on the load hot path). A
// malformed status line or header is `bad` as soon as its line is complete.
Parse parse_response_head(std::string_view data, ResponseHead& out, std::size_t limit) {
  out = ResponseHead{};
  const char* const base = data.data();
  const std::size_t size = data.size();
  std::size_t line_start = 0, scan = 0;
  bool have_status = false;
  for (;;) {
    const void* hit = scan < size ? std::memchr(base + scan, '\n', size - scan) : nullptr;
    if (hit == nullptr) return size > limit ? Parse::bad : Parse::incomplete;
    const auto nl = static_cast<std::size_t>(static_cast<const char*>(hit) - base);
    scan = nl + 1;
    if (nl == line_start || base[nl - 1] != '\r') continue;  // a bare LF is part of the line
    const std::string_view line(base + line_start, nl - 1 - line_start);
    line_start = scan;
    if (!have_status) {
      // "HTTP/1.1 200 OK"
      if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ') return Parse::bad;
      const char minor = line[7];
      if (minor != '0' && minor != '1') return Parse::bad;
      out.keep_alive = minor == '1';
      unsigned status = 0;
      for (std::size_t i = 9; i < 12; ++i) {
        if (line[i] < '0' || line[i] > '9') return Parse::bad;
        status = status * 10 + static_cast<unsigned>(line[i] - '0');
      }
      if (line.size() > 12 && line[12] != ' ') return Parse::bad;
      if (status < 100) return Parse::bad;
      out.status = status;
      have_status = true;
      continue;
    }
    if (line.empty()) {  // the blank line ends the head
      if (scan > limit) return Parse::bad;
      out.head_bytes = scan;
      if (out.chunked) out.content_length.reset();  // RFC 9112: chunked wins
      return Parse::done;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return Parse::bad;
    const std::string_view name = line.substr(0, colon);
    switch (name.size()) {
      case 14:
        if (iequals(name, "content-length")) {
          const std::string_view value = trim(line.substr(colon + 1));
          std::uint64_t n = 0;
          auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
          if (ec != std::errc{} || p != value.data() + value.size() || value.empty())
            return Parse::bad;
          if (out.content_length && *out.content_length != n) return Parse::bad;
          out.content_length = n;
        }
        break;
      case 17:
        if (iequals(name, "transfer-encoding")) {
          const std::string_view value = trim(line.substr(colon + 1));
          if (icontains_token(value, "chunked"))
            out.chunked = true;
          else if (!iequals(value, "identity"))
            return Parse::bad;
        }
        break;
      case 10:
        if (iequals(name, "connection")) {
          const std::string_view value = trim(line.substr(colon + 1));
          if (icontains_token(value, "close")) out.keep_alive = false;
          if (icontains_token(value, "keep-alive")) out.keep_alive = true;
        }
        break;
      default:
        break;
    }
  }
}

std::optional<std::string_view> find_header(std::string_view head, std::string_view name) {
  auto eol = head.find("\r\n");
  if (eol == std::string_view::npos) return std::nullopt;
  head.remove_prefix(eol + 2);
  while (!head.empty()) {
    const auto e = head.find("\r\n");
    std::string_view field = head.substr(0, e);
    if (field.empty()) break;
    const auto colon = field.find(':');
    if (colon != std::string_view::npos && iequals(field.substr(0, colon), name))
      return trim(field.substr(colon + 1));
    if (e == std::string_view::npos) break;
    head.remove_prefix(e + 2);
  }
  return std::nullopt;
}

Parse ChunkedDecoder::feed(std::string_view data, std::size_t& consumed, std::string* body) {
  consumed = 0;
  for (;;) {
    std::string_view rest = data.substr(consumed);
    switch (state_) {
      case State::size: {
        const auto e = rest.find("\r\n");
        if (e == std::string_view::npos) return rest.size() > 1024 ? Parse::bad : Parse::incomplete;
        std::string_view line = rest.substr(0, e);
        if (auto semi = line.find(';'); semi != std::string_view::npos) line = line.substr(0, semi);
        line = trim(line);
        std::uint64_t n = 0;
        auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), n, 16);
        if (line.empty() || ec != std::errc{} || p != line.data() + line.size()) return Parse::bad;
        consumed += e + 2;
        remaining_ = n;
        state_ = n == 0 ? State::trailer : State::data;
        break;
      }
      case State::data: {
        if (rest.empty()) return Parse::incomplete;
        const auto take = static_cast<std::size_t>(
            std::min<std::uint64_t>(remaining_, static_cast<std::uint64_t>(rest.size())));
        if (body) body->append(rest.data(), take);
        consumed += take;
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::data_crlf;
        break;
      }
      case State::data_crlf: {
        if (rest.size() < 2) return Parse::incomplete;
        if (rest.substr(0, 2) != "\r\n") return Parse::bad;
        consumed += 2;
        state_ = State::size;
        break;
      }
      case State::trailer: {
        const auto e = rest.find("\r\n");
        if (e == std::string_view::npos) return rest.size() > 8192 ? Parse::bad : Parse::incomplete;
        consumed += e + 2;
        if (e == 0) return Parse::done;  // blank line ends the trailers
        break;
      }
    }
  }
}

}  // namespace faultline::loadgen
