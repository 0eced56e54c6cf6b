// The once-a-second progress line on stderr ("[  12.0s]   1000 req/s  p50 …"): rewritten in
// place on a terminal, one line per second otherwise (logs, CI).
#pragma once

#include <cstdint>
#include <string>

#include "loadgen/stats.hpp"

namespace faultline::loadgen::detail {

struct ProgressSample {
  double t = 0;        // seconds since the start of the run
  double seconds = 0;  // length of the interval
  const Stats* interval = nullptr;
  std::string offered;  // " (offered 100/s)", " (10 users)" or empty
  std::int64_t in_flight = 0;
  std::uint64_t backlog = 0;
};

// "12.3ms", "850us", "1.20s".
std::string fmt_latency(double seconds);
std::string progress_line(const ProgressSample& s);

class ProgressLine {
 public:
  ProgressLine();  // looks whether stderr is a terminal
  void print(const ProgressSample& s) const;
  // Ends the line being rewritten on a terminal.
  void finish() const;

 private:
  bool tty_ = false;
};

}  // namespace faultline::loadgen::detail
