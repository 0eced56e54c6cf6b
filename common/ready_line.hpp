// The lines a faultline child prints on stdout for whoever started it (`faultline run`, the
// tests): the one owner of that line protocol.
//   "listening on HOST:PORT"   target, proxy, load --metrics-listen: the address it bound
//   "started at UNIX_SECONDS"  load --metrics-listen: the wall-clock instant its second 0 begins
// Each is printed on a line of its own and flushed at once.
#pragma once

#include <optional>
#include <string_view>

#include "common/config.hpp"
#include "common/net.hpp"

namespace faultline::ready_line {

inline constexpr std::string_view kListening = "listening on ";
inline constexpr std::string_view kStartedAt = "started at ";

// Prints "listening on HOST:PORT" for `bound` to stdout and flushes.
void print_listening(const tcp::endpoint& bound);
// Prints "started at UNIX_SECONDS" (microsecond precision) to stdout and flushes.
void print_started_at(double unix_seconds);

// The address of a "listening on" line (anything before the marker is ignored), or nullopt.
std::optional<HostPort> parse_listening(std::string_view line);
// The time of a "started at" line (> 0), or nullopt.
std::optional<double> parse_started_at(std::string_view line);

}  // namespace faultline::ready_line
