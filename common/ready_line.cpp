// See ready_line.hpp.
#include "common/ready_line.hpp"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <iostream>
#include <string>

namespace faultline::ready_line {

namespace {

// What follows `marker` in `line`, without trailing whitespace; nullopt when there is no marker.
std::optional<std::string_view> after(std::string_view line, std::string_view marker) {
  const auto at = line.find(marker);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = line.substr(at + marker.size());
  while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.back())))
    rest.remove_suffix(1);
  return rest;
}

}  // namespace

void print_listening(const tcp::endpoint& bound) {
  std::cout << kListening << HostPort{bound.address().to_string(), bound.port()}.to_string()
            << std::endl;
}

void print_started_at(double unix_seconds) {
  std::cout << kStartedAt << fmt::format("{:.6f}", unix_seconds) << std::endl;
}

std::optional<HostPort> parse_listening(std::string_view line) {
  auto rest = after(line, kListening);
  if (!rest) return std::nullopt;
  return parse_host_port(*rest);
}

std::optional<double> parse_started_at(std::string_view line) {
  auto rest = after(line, kStartedAt);
  if (!rest || rest->empty()) return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(rest->data(), rest->data() + rest->size(), v);
  if (ec != std::errc() || end != rest->data() + rest->size() || !(v > 0)) return std::nullopt;
  return v;
}

}  // namespace faultline::ready_line
