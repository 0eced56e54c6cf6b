// The once-a-second progress line: latency units and the line's fields.
#include <gtest/gtest.h>

#include "loadgen/detail/progress.hpp"

using namespace faultline::loadgen;
using namespace faultline::loadgen::detail;

TEST(Progress, FormatsLatenciesInReadableUnits) {
  EXPECT_EQ(fmt_latency(0), "0us");
  EXPECT_EQ(fmt_latency(0.0005), "500us");
  EXPECT_EQ(fmt_latency(0.0123), "12.30ms");
  EXPECT_EQ(fmt_latency(1.2), "1.20s");
}

TEST(Progress, LineShowsRateOfferedLatencyErrorsAndQueues) {
  Stats interval;
  interval.total = 200;
  interval.failed = 3;
  ProgressSample s{12.0, 2.0, &interval, " (offered 100/s)", 4, 7};
  EXPECT_EQ(progress_line(s),
            "[  12.0s]      100 req/s (offered 100/s)  p50 0us  p99 0us  errors 3  in-flight 4  "
            "backlog 7");
}
