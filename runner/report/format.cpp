// Formatting helpers for the report writers (see format.hpp).
#include "format.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace faultline::runner::report_format {

namespace {
const nlohmann::json& empty_array() {
  static const nlohmann::json a = nlohmann::json::array();
  return a;
}
const nlohmann::json& empty_object() {
  static const nlohmann::json o = nlohmann::json::object();
  return o;
}
const nlohmann::json* find(const nlohmann::json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}
}  // namespace

std::string str(const nlohmann::json& j, std::string_view key, std::string fallback) {
  const auto* v = find(j, key);
  return v && v->is_string() ? v->get<std::string>() : fallback;
}

std::optional<double> num(const nlohmann::json& j, std::string_view key) {
  const auto* v = find(j, key);
  if (!v || !v->is_number()) return std::nullopt;
  const double d = v->get<double>();
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

const nlohmann::json& any(const nlohmann::json& j, std::string_view key) {
  static const nlohmann::json null_value;
  const auto* v = find(j, key);
  return v ? *v : null_value;
}

bool flag(const nlohmann::json& j, std::string_view key) {
  const auto* v = find(j, key);
  return v && v->is_boolean() && v->get<bool>();
}

const nlohmann::json& arr(const nlohmann::json& j, std::string_view key) {
  const auto* v = find(j, key);
  return v && v->is_array() ? *v : empty_array();
}

const nlohmann::json& obj(const nlohmann::json& j, std::string_view key) {
  const auto* v = find(j, key);
  return v && v->is_object() ? *v : empty_object();
}

std::string number(double v, int sig) {
  if (!std::isfinite(v)) return "n/a";
  if (v == 0) return "0";
  // Integers of moderate size print exactly (request counts).
  if (std::fabs(v) < 1e15 && v == std::floor(v)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", sig, v);
  std::string s = buf;
  // %g may choose exponent notation for small values; keep it (e.g. "1.5e-05") — it is exact.
  return s;
}

std::string display(const nlohmann::json& v) {
  if (v.is_number()) return number(v.get<double>());
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_null()) return "n/a";
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string xml_escape(std::string_view s, bool attribute) {
  std::string out;
  out.reserve(s.size() + 16);
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\t':
        out += attribute ? "&#9;" : "\t";
        break;
      case '\n':
        out += attribute ? "&#10;" : "\n";
        break;
      case '\r':
        out += attribute ? "&#13;" : "\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) continue;  // not allowed in XML 1.0
        out += c;
    }
  }
  return out;
}

std::string json_for_script(const nlohmann::json& j) {
  const std::string raw = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(raw.size() + 64);
  for (char c : raw) {
    switch (c) {
      case '<':
        out += "\\u003c";
        break;
      case '>':
        out += "\\u003e";
        break;
      case '&':
        out += "\\u0026";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string inline_safe(std::string s, std::string_view closing_tag) {
  std::string lower_tag(closing_tag);
  for (std::size_t pos = 0; (pos = s.find("</", pos)) != std::string::npos; pos += 2) {
    std::string candidate = s.substr(pos, closing_tag.size());
    for (auto& c : candidate)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (candidate == lower_tag) s.replace(pos, 2, "<\\/");
  }
  return s;
}

}  // namespace faultline::runner::report_format
