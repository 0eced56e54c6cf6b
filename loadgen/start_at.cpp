// --start-at: parsing, validation and the wait (see start_at.hpp).
#include "loadgen/start_at.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "common/config.hpp"
#include "common/metrics.hpp"

namespace faultline::loadgen {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double launch_unix() {
  const double now = unix_now();
  const auto started = process_start_time_seconds();
  // /proc/uptime and the tick make it a few ms off either way; anything odd falls back to now.
  if (!started || *started > now + 0.05 || now - *started > kLaunchMaxAgeSeconds) return now;
  return std::min(*started, now);
}

std::optional<double> parse_start_at(std::string_view text, double now_unix, std::string& error) {
  const char* kForm = "--start-at: expected UNIX_SECONDS or +DURATION (e.g. 1767225600 or +10s)";
  double at = 0;
  if (!text.empty() && text.front() == '+') {
    const auto d = parse_duration(text.substr(1));
    if (!d || d->count() < 0) {
      error = kForm;
      return std::nullopt;
    }
    at = now_unix + std::chrono::duration<double>(*d).count();
  } else {
    const std::string s(text);
    char* end = nullptr;
    at = s.empty() || !(s[0] >= '0' && s[0] <= '9') ? -1 : std::strtod(s.c_str(), &end);
    if (at < 0 || end == nullptr || *end != '\0' || !std::isfinite(at)) {
      error = kForm;
      return std::nullopt;
    }
  }
  if (at < now_unix - kStartAtPastToleranceSeconds) {
    error = fmt::format(
        "--start-at: {} was {:.1f} s in the past when faultline started (at most {:.0f} s late is "
        "accepted; give a later time or +DURATION)",
        text, now_unix - at, kStartAtPastToleranceSeconds);
    return std::nullopt;
  }
  if (at > now_unix + kStartAtMaxAheadSeconds) {
    error = fmt::format(
        "--start-at: {} is {:.0f} s ahead, more than {:.0f} h (Unix seconds, not milliseconds)",
        text, at - now_unix, kStartAtMaxAheadSeconds / 3600);
    return std::nullopt;
  }
  return at;
}

std::chrono::steady_clock::time_point steady_from_unix(double unix_seconds) {
  const auto steady_now = std::chrono::steady_clock::now();
  const double ahead = unix_seconds - unix_now();
  return steady_now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                          std::chrono::duration<double>(ahead));
}

bool wait_until(std::chrono::steady_clock::time_point until, StopSignals& stop) {
  for (;;) {
    const auto left = until - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return true;
    if (stop.wait_for(left)) return false;
  }
}

}  // namespace faultline::loadgen
