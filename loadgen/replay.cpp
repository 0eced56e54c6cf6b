// Replay inputs: proxy recordings and HAR files turned into ready-to-send requests (see
// replay.hpp).
#include "loadgen/replay.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <boost/beast/core/detail/base64.hpp>

namespace faultline::loadgen {
namespace {

std::string decode_base64(const std::string& in) {
  namespace b64 = boost::beast::detail::base64;
  std::string out(b64::decoded_size(in.size()), '\0');
  auto [written, read] = b64::decode(out.data(), in.data(), in.size());
  (void)read;
  out.resize(written);
  return out;
}

bool skip_header(const std::string& name) {
  std::string l = name;
  std::transform(l.begin(), l.end(), l.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  // Framing and hop-by-hop headers are ours to set; HTTP/2 pseudo-headers (HAR) do not apply.
  return l == "host" || l == "content-length" || l == "transfer-encoding" || l == "connection" ||
         l == "keep-alive" || l == "upgrade" || l.empty() || l[0] == ':';
}

// Method and first path segment: "GET /p", "POST /pastes". Each name costs fixed histogram memory
// per thread, so past kMaxNames distinct names the rest are counted under "OTHER".
constexpr std::size_t kMaxNames = 64;
std::size_t name_for(Workload& w, const std::string& method, const std::string& target) {
  auto end = target.find_first_of("/?", 1);
  std::string name = method + " " + target.substr(0, end);
  if (w.request_names.size() >= kMaxNames - 1 &&
      std::find(w.request_names.begin(), w.request_names.end(), name) == w.request_names.end())
    name = "OTHER";
  return w.add_name(std::move(name));
}

std::string build(const std::string& method, const std::string& target,
                  const std::vector<std::pair<std::string, std::string>>& headers,
                  const std::string& body, const std::string& host_header) {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: " + host_header + "\r\n";
  for (const auto& [k, v] : headers) {
    if (skip_header(k)) continue;
    out += k + ": " + v + "\r\n";
  }
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH")
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "\r\n" + body;
  return out;
}

bool valid_method(const std::string& m) {
  return !m.empty() && std::all_of(m.begin(), m.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

}  // namespace

std::vector<ReplayItem> load_recording(const std::string& file, const std::string& host_header,
                                       Workload& w) {
  std::ifstream in(file);
  if (!in) throw ConfigError("--replay: cannot read " + file);
  std::vector<ReplayItem> items;
  std::string line;
  std::size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    const std::string where = file + ":" + std::to_string(lineno);
    auto j = parse_json_or_discarded(line);
    if (j.is_discarded() || !j.is_object()) throw ConfigError(where + ": not a JSON object");
    ConfigErrors errors;
    auto ts = get_number(j, "$", "ts", errors, true);
    auto method = get_string(j, "$", "method", errors, true);
    auto target = get_string(j, "$", "target", errors, true);
    if (method && !valid_method(*method)) errors.add("$.method", "must be an HTTP method");
    if (target && (target->empty() || target->front() != '/'))
      errors.add("$.target", "must start with '/'");
    if (ts && *ts < 0) errors.add("$.ts", "must be >= 0");
    std::vector<std::pair<std::string, std::string>> headers;
    if (auto h = j.find("headers"); h != j.end()) {
      if (!h->is_array())
        errors.add("$.headers", "must be an array of [name, value]");
      else
        for (std::size_t i = 0; i < h->size(); ++i) {
          const auto& kv = (*h)[i];
          if (!kv.is_array() || kv.size() != 2 || !kv[0].is_string() || !kv[1].is_string())
            errors.add(path_index("$.headers", i), "must be [name, value]");
          else
            headers.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
        }
    }
    std::string body;
    if (auto b = get_string(j, "$", "body", errors)) body = *b;
    if (auto b = get_string(j, "$", "body_base64", errors)) body = decode_base64(*b);
    if (!errors.empty()) throw ConfigError(where + ": " + errors.to_string());
    ReplayItem item;
    item.at_seconds = *ts;
    item.method = *method;
    item.name_index = name_for(w, *method, *target);
    item.bytes = build(*method, *target, headers, body, host_header);
    items.push_back(std::move(item));
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const auto& a, const auto& b) { return a.at_seconds < b.at_seconds; });
  if (items.empty()) throw ConfigError("--replay: " + file + " has no requests");
  return items;
}

namespace {
// "2026-11-25T20:01:02.123Z" / "+01:00" → seconds since the epoch (only differences matter).
std::optional<double> parse_iso8601(const std::string& s) {
  int y, mo, d, h, mi;
  double sec;
  char tail[16] = {0};
  if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%lf%15s", &y, &mo, &d, &h, &mi, &sec, tail) < 6)
    return std::nullopt;
  // Days from civil (Howard Hinnant's algorithm).
  y -= mo <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = static_cast<unsigned>((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1);
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const double days = era * 146097.0 + static_cast<double>(doe) - 719468.0;
  double t = days * 86400 + h * 3600 + mi * 60 + sec;
  std::string tz(tail);
  if (tz.size() >= 6 && (tz[0] == '+' || tz[0] == '-')) {
    const int sign = tz[0] == '+' ? 1 : -1;
    t -= sign * (std::stoi(tz.substr(1, 2)) * 3600 + std::stoi(tz.substr(4, 2)) * 60);
  }
  return t;
}
}  // namespace

std::vector<ReplayItem> load_har(const std::string& file, const std::string& host_header,
                                 Workload& w) {
  json doc = load_json_file(file);
  ConfigErrors errors;
  std::vector<ReplayItem> items;
  const json* entries = nullptr;
  if (doc.is_object() && doc.contains("log") && doc["log"].is_object() &&
      doc["log"].contains("entries") && doc["log"]["entries"].is_array())
    entries = &doc["log"]["entries"];
  else
    throw ConfigError(file + ": $.log.entries: required (an HTTP Archive 1.2 file)");
  std::optional<double> first;
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const auto path = path_index("$.log.entries", i);
    const json& e = (*entries)[i];
    if (!e.is_object() || !e.contains("request") || !e["request"].is_object()) {
      errors.add(path, "must be an object with \"request\"");
      continue;
    }
    const json& r = e["request"];
    const auto rpath = path_join(path, "request");
    auto started = get_string(e, path, "startedDateTime", errors, true);
    auto method = get_string(r, rpath, "method", errors, true);
    auto url = get_string(r, rpath, "url", errors, true);
    if (!started || !method || !url) continue;
    auto t = parse_iso8601(*started);
    if (!t) {
      errors.add(path_join(path, "startedDateTime"), "not an ISO 8601 date");
      continue;
    }
    // Keep the origin-form target of the absolute URL; the host is the one we load.
    std::string target = "/";
    if (auto scheme = url->find("://"); scheme != std::string::npos) {
      auto slash = url->find('/', scheme + 3);
      if (slash != std::string::npos) target = url->substr(slash);
    } else if (!url->empty() && url->front() == '/') {
      target = *url;
    }
    if (auto hash = target.find('#'); hash != std::string::npos) target.resize(hash);
    std::vector<std::pair<std::string, std::string>> headers;
    if (r.contains("headers") && r["headers"].is_array())
      for (const auto& h : r["headers"])
        if (h.is_object() && h.contains("name") && h.contains("value") && h["name"].is_string() &&
            h["value"].is_string())
          headers.emplace_back(h["name"].get<std::string>(), h["value"].get<std::string>());
    std::string body;
    if (r.contains("postData") && r["postData"].is_object() && r["postData"].contains("text") &&
        r["postData"]["text"].is_string()) {
      body = r["postData"]["text"].get<std::string>();
      if (r["postData"].value("encoding", "") == "base64") body = decode_base64(body);
      if (auto mime = r["postData"].find("mimeType");
          mime != r["postData"].end() && mime->is_string()) {
        bool has_ct = false;
        for (const auto& [k, v] : headers) {
          std::string l = k;
          std::transform(l.begin(), l.end(), l.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
          has_ct = has_ct || l == "content-type";
        }
        if (!has_ct) headers.emplace_back("Content-Type", mime->get<std::string>());
      }
    }
    if (!valid_method(*method)) {
      errors.add(path_join(rpath, "method"), "must be an HTTP method");
      continue;
    }
    if (!first) first = *t;
    ReplayItem item;
    item.at_seconds = *t;
    item.method = *method;
    item.name_index = name_for(w, *method, target);
    item.bytes = build(*method, target, headers, body, host_header);
    items.push_back(std::move(item));
  }
  if (!errors.empty()) throw ConfigError(file + ":\n" + errors.to_string());
  if (items.empty()) throw ConfigError("--har: " + file + " has no entries");
  double t0 = items.front().at_seconds;
  for (const auto& it : items)
    t0 = std::min(t0, it.at_seconds);
  for (auto& it : items)
    it.at_seconds -= t0;
  std::stable_sort(items.begin(), items.end(),
                   [](const auto& a, const auto& b) { return a.at_seconds < b.at_seconds; });
  return items;
}

}  // namespace faultline::loadgen
