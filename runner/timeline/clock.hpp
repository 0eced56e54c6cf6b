// The run's clock: seconds from second 0, when the load generator's first interval began, so a
// phase boundary at a whole second falls exactly between two interval lines.
#pragma once

#include <chrono>

namespace faultline::runner {

struct TimelineClock {
  using Clock = std::chrono::steady_clock;
  Clock::time_point t0{};
  bool started() const noexcept { return t0 != Clock::time_point{}; }
  double offset(Clock::time_point t) const { return std::chrono::duration<double>(t - t0).count(); }
  double now() const { return started() ? offset(Clock::now()) : 0; }
  Clock::time_point at(double seconds) const {
    return t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }
};

}  // namespace faultline::runner
