#include "common/metrics.hpp"

#include <gtest/gtest.h>

#include "tests/support/support.hpp"

using namespace faultline;

TEST(Metrics, ProcessMetricsArePresentAndPromtoolClean) {
  Metrics m;
  auto& fam = prometheus::BuildCounter()
                  .Name("faultline_test_requests_total")
                  .Help("Requests.")
                  .Register(m.registry());
  fam.Add({{"code", "200"}}).Increment();
  const auto text = m.serialize();
  for (const char* name : {"process_resident_memory_bytes", "process_open_fds",
                           "process_cpu_seconds_total", "faultline_test_requests_total"})
    EXPECT_NE(text.find(name), std::string::npos) << name;
  EXPECT_GT(process_resident_memory_bytes(), 1e5);
  EXPECT_GE(process_open_fds(), 3);
  auto [rc, out] = test::promtool_check_metrics(text);
  EXPECT_EQ(rc, 0) << out << "\n" << text;
}
