// The once-a-second progress line on stderr (see detail/progress.hpp).
#include "loadgen/detail/progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace faultline::loadgen::detail {

std::string fmt_latency(double s) {
  char b[32];
  if (s < 1e-3)
    std::snprintf(b, sizeof b, "%.0fus", s * 1e6);
  else if (s < 1)
    std::snprintf(b, sizeof b, "%.2fms", s * 1e3);
  else
    std::snprintf(b, sizeof b, "%.2fs", s);
  return b;
}

std::string progress_line(const ProgressSample& s) {
  const Stats& interval = *s.interval;
  char line[256];
  const double rps = s.seconds > 0 ? static_cast<double>(interval.total) / s.seconds : 0;
  std::snprintf(line, sizeof line,
                "[%6.1fs] %8.0f req/s%s  p50 %s  p99 %s  errors %llu  in-flight %lld  "
                "backlog %llu",
                s.t, rps, s.offered.c_str(),
                fmt_latency(interval.latency.percentile_seconds(50)).c_str(),
                fmt_latency(interval.latency.percentile_seconds(99)).c_str(),
                static_cast<unsigned long long>(interval.failed),
                static_cast<long long>(s.in_flight), static_cast<unsigned long long>(s.backlog));
  return line;
}

ProgressLine::ProgressLine() : tty_(isatty(STDERR_FILENO) != 0) {}

void ProgressLine::print(const ProgressSample& s) const {
  const std::string line = progress_line(s);
  if (tty_)
    std::cerr << '\r' << line << "\x1b[K" << std::flush;
  else
    std::cerr << line << '\n' << std::flush;
}

void ProgressLine::finish() const {
  if (tty_) std::cerr << '\n';
}

}  // namespace faultline::loadgen::detail
