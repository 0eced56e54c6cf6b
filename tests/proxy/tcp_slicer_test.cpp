// `slicer` on a real bulk transfer: the pace holds for the whole stream, not only the first read
// chunk (n slices take about n × delay).
#include <gtest/gtest.h>

#include <thread>

#include "tests/proxy/harness.hpp"

using namespace faultline;
using namespace faultline::proxy::test;
using namespace std::chrono_literals;

TEST(TcpSlicer, BulkTransferIsSlicedToTheEnd) {
  EchoServer echo;
  Harness h;
  const auto port = h.create("p", echo.address());
  ASSERT_NE(port, 0);
  ASSERT_EQ(h.call("POST", "/proxies/p/toxics",
                   {{"type", "slicer"},
                    {"stream", "downstream"},
                    {"attributes", {{"average_size", 1000}, {"delay", 5000}}}})
                .status,
            200);
  Client c(port, 10000ms);
  ASSERT_TRUE(c.connected());
  const std::string data(200000, 's');  // 200 slices, 5 ms apart: about 1 s
  const auto t0 = std::chrono::steady_clock::now();
  std::thread w([&] { c.send_all(data); });
  EXPECT_EQ(c.read_n(data.size()).size(), data.size());
  w.join();
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GT(took, 0.9);
  EXPECT_LT(took, 2.0);
}
