#include "common/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>

#include "common/files.hpp"

namespace faultline {

void ConfigErrors::add(std::string path, std::string message) {
  errors_.push_back(path + ": " + message);
}

std::string ConfigErrors::to_string() const {
  std::string out;
  for (const auto& e : errors_) {
    if (!out.empty()) out += '\n';
    out += e;
  }
  return out;
}

ConfigError::ConfigError(const ConfigErrors& errors) : std::runtime_error(errors.to_string()) {}

std::string path_join(std::string_view path, std::string_view member) {
  std::string out(path.empty() ? "$" : path);
  out += '.';
  out += member;
  return out;
}

std::string path_index(std::string_view path, std::size_t index) {
  return fmt::format("{}[{}]", path.empty() ? "$" : path, index);
}

namespace {

// Parses a leading non-negative decimal number; advances `s`.
std::optional<double> take_number(std::string_view& s) {
  std::size_t i = 0;
  bool digits = false, dot = false;
  while (i < s.size() &&
         (std::isdigit(static_cast<unsigned char>(s[i])) || (s[i] == '.' && !dot))) {
    if (s[i] == '.')
      dot = true;
    else
      digits = true;
    ++i;
  }
  if (!digits) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + i, v);
  if (ec != std::errc() || p != s.data() + i) return std::nullopt;
  s.remove_prefix(i);
  return v;
}

}  // namespace

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  double total_ns = 0;
  bool any = false;
  while (!text.empty()) {
    auto v = take_number(text);
    if (!v) return std::nullopt;
    std::size_t n = 0;
    while (n < text.size() && std::isalpha(static_cast<unsigned char>(text[n])))
      ++n;
    std::string_view unit = text.substr(0, n);
    text.remove_prefix(n);
    double scale;
    if (unit.empty()) {
      if (any || !text.empty()) return std::nullopt;  // "1h30" is ambiguous
      scale = 1e9;
    } else if (unit == "ns") {
      scale = 1;
    } else if (unit == "us" || unit == "µs") {
      scale = 1e3;
    } else if (unit == "ms") {
      scale = 1e6;
    } else if (unit == "s") {
      scale = 1e9;
    } else if (unit == "m") {
      scale = 60e9;
    } else if (unit == "h") {
      scale = 3600e9;
    } else if (unit == "d") {
      scale = 86400e9;
    } else {
      return std::nullopt;
    }
    total_ns += *v * scale;
    any = true;
  }
  if (!std::isfinite(total_ns) || total_ns > 1e18) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(total_ns)));
}

std::optional<double> parse_rate(std::string_view text) {
  text = trim(text);
  auto v = take_number(text);
  if (!v) return std::nullopt;
  double scale = 1;
  if (text == "k" || text == "K")
    scale = 1e3;
  else if (text == "m" || text == "M")
    scale = 1e6;
  else if (!text.empty())
    return std::nullopt;
  return *v * scale;
}

std::optional<std::uint64_t> parse_bytes(std::string_view text) {
  text = trim(text);
  auto v = take_number(text);
  if (!v) return std::nullopt;
  std::string unit(text);
  std::transform(unit.begin(), unit.end(), unit.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  double scale;
  if (unit.empty() || unit == "b")
    scale = 1;
  else if (unit == "k" || unit == "kb")
    scale = 1e3;
  else if (unit == "kib")
    scale = 1024;
  else if (unit == "m" || unit == "mb")
    scale = 1e6;
  else if (unit == "mib")
    scale = 1024.0 * 1024;
  else if (unit == "g" || unit == "gb")
    scale = 1e9;
  else if (unit == "gib")
    scale = 1024.0 * 1024 * 1024;
  else
    return std::nullopt;
  double bytes = *v * scale;
  if (bytes > 1.8e19) return std::nullopt;
  return static_cast<std::uint64_t>(std::llround(bytes));
}

std::string format_duration(std::chrono::nanoseconds d) {
  const double ns = static_cast<double>(d.count());
  if (ns == 0) return "0s";
  if (ns >= 3600e9 && std::fmod(ns, 3600e9) == 0) return fmt::format("{}h", ns / 3600e9);
  if (ns >= 60e9 && std::fmod(ns, 60e9) == 0) return fmt::format("{}m", ns / 60e9);
  if (ns >= 1e9) return fmt::format("{:g}s", ns / 1e9);
  if (ns >= 1e6) return fmt::format("{:g}ms", ns / 1e6);
  if (ns >= 1e3) return fmt::format("{:g}us", ns / 1e3);
  return fmt::format("{}ns", d.count());
}

std::string HostPort::to_string() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

std::optional<HostPort> parse_host_port(std::string_view text) {
  text = trim(text);
  HostPort hp;
  std::string_view port_part;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    hp.host = std::string(text.substr(1, close - 1));
    port_part = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    hp.host = std::string(text.substr(0, colon));
    if (hp.host.find(':') != std::string::npos) return std::nullopt;  // bare IPv6 needs brackets
    port_part = text.substr(colon + 1);
  }
  if (hp.host.empty()) hp.host = "127.0.0.1";
  unsigned port = 0;
  auto [p, ec] = std::from_chars(port_part.data(), port_part.data() + port_part.size(), port);
  if (port_part.empty() || ec != std::errc() || p != port_part.data() + port_part.size() ||
      port > 65535)
    return std::nullopt;
  hp.port = static_cast<std::uint16_t>(port);
  return hp;
}

namespace {
const json* member(const json& obj, std::string_view path, const char* key, ConfigErrors& errors,
                   bool required) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) errors.add(path_join(path, key), "required field is missing");
    return nullptr;
  }
  return &*it;
}
}  // namespace

std::optional<std::string> get_string(const json& obj, std::string_view path, const char* key,
                                      ConfigErrors& errors, bool required) {
  const json* v = member(obj, path, key, errors, required);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    errors.add(path_join(path, key), fmt::format("must be a string, got {}", v->type_name()));
    return std::nullopt;
  }
  return v->get<std::string>();
}

std::optional<double> get_number(const json& obj, std::string_view path, const char* key,
                                 ConfigErrors& errors, bool required) {
  const json* v = member(obj, path, key, errors, required);
  if (!v) return std::nullopt;
  if (!v->is_number()) {
    errors.add(path_join(path, key), fmt::format("must be a number, got {}", v->type_name()));
    return std::nullopt;
  }
  return v->get<double>();
}

std::optional<std::int64_t> get_integer(const json& obj, std::string_view path, const char* key,
                                        ConfigErrors& errors, bool required) {
  const json* v = member(obj, path, key, errors, required);
  if (!v) return std::nullopt;
  if (v->is_number_unsigned() &&
      v->get<std::uint64_t>() >
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    errors.add(path_join(path, key),
               fmt::format("must be at most {}, got {}", std::numeric_limits<std::int64_t>::max(),
                           v->get<std::uint64_t>()));
    return std::nullopt;
  }
  if (v->is_number_integer()) return v->get<std::int64_t>();
  if (v->is_number_float()) {
    double d = v->get<double>();
    if (std::floor(d) == d && std::fabs(d) < 9e18) return static_cast<std::int64_t>(d);
  }
  errors.add(path_join(path, key), fmt::format("must be an integer, got {}", v->dump()));
  return std::nullopt;
}

std::optional<bool> get_bool(const json& obj, std::string_view path, const char* key,
                             ConfigErrors& errors, bool required) {
  const json* v = member(obj, path, key, errors, required);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) {
    errors.add(path_join(path, key), fmt::format("must be true or false, got {}", v->dump()));
    return std::nullopt;
  }
  return v->get<bool>();
}

std::optional<std::chrono::nanoseconds> get_duration(
    const json& obj, std::string_view path, const char* key, ConfigErrors& errors, bool required,
    std::optional<std::chrono::nanoseconds> number_unit) {
  const json* v = member(obj, path, key, errors, required);
  if (!v) return std::nullopt;
  if (v->is_number() && number_unit) {
    double d = v->get<double>();
    if (d < 0 || !std::isfinite(d)) {
      errors.add(path_join(path, key), fmt::format("must be >= 0, got {}", v->dump()));
      return std::nullopt;
    }
    return std::chrono::nanoseconds(
        static_cast<std::int64_t>(std::llround(d * static_cast<double>(number_unit->count()))));
  }
  if (v->is_string()) {
    if (auto d = parse_duration(v->get<std::string>())) return d;
  }
  errors.add(path_join(path, key),
             fmt::format("must be a duration like \"500ms\", \"30s\", \"5m\", got {}", v->dump()));
  return std::nullopt;
}

void reject_unknown_keys(const json& obj, std::string_view path,
                         std::initializer_list<std::string_view> known, ConfigErrors& errors) {
  if (!obj.is_object()) return;
  for (const auto& [k, _] : obj.items()) {
    if (std::find(known.begin(), known.end(), k) == known.end())
      errors.add(path_join(path, k), "unknown field");
  }
}

std::size_t json_nesting_depth(std::string_view text, std::size_t stop_after) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > deepest) {
          deepest = depth;
          if (deepest > stop_after) return deepest;
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return deepest;
}

std::optional<json> parse_json(std::string_view text, std::string* error, std::size_t max_depth) {
  if (json_nesting_depth(text, max_depth) > max_depth) {
    if (error) *error = fmt::format("nested deeper than {} levels", max_depth);
    return std::nullopt;
  }
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    if (error) *error = e.what();
    return std::nullopt;
  }
}

json parse_json_or_discarded(std::string_view text, std::size_t max_depth) {
  auto doc = parse_json(text, nullptr, max_depth);
  return doc ? std::move(*doc) : json(json::value_t::discarded);
}

std::string read_text_file(const std::string& file, std::uint64_t max_bytes) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    throw ConfigError(fmt::format("{}: cannot open file: {}", file, std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    throw ConfigError(
        fmt::format("{}: not a regular file (a FIFO, device or directory is not read)", file));
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes)
    throw ConfigError(
        fmt::format("{}: {} bytes, over the limit of {} bytes", file, st.st_size, max_bytes));
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ConfigError(fmt::format("{}: cannot read: {}", file, std::strerror(errno)));
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > max_bytes)  // grew while being read
      throw ConfigError(fmt::format("{}: over the limit of {} bytes", file, max_bytes));
  }
  return text;
}

json load_json_file(const std::string& file, std::uint64_t max_bytes) {
  const std::string text = read_text_file(file, max_bytes);
  std::string error;
  auto doc = parse_json(text, &error);
  if (!doc) throw ConfigError(fmt::format("{}: invalid JSON: {}", file, error));
  return std::move(*doc);
}

}  // namespace faultline
