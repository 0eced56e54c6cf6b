// How a TCP proxy counts its faults: a `weighted` toxic's injected fault is counted under the
// chosen behavior's kind (as on http and redis), and a link whose draw injected nothing does not
// hold a max_active_faults slot.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "tests/proxy/harness.hpp"

using namespace faultline;
using namespace faultline::proxy::test;
using namespace std::chrono_literals;

namespace {

json weighted(double percent) {
  return {
      {"type", "weighted"},
      {"stream", "downstream"},
      {"attributes",
       {{"choices",
         json::array(
             {{{"percent", percent}, {"type", "latency"}, {"attributes", {{"latency", 1}}}}})}}}};
}

// Opens `n` connections through `port` and keeps them open (each has echoed one byte, so its
// toxics were drawn).
std::vector<std::unique_ptr<Client>> open_connections(unsigned short port, int n) {
  std::vector<std::unique_ptr<Client>> out;
  for (int i = 0; i < n; ++i) {
    auto c = std::make_unique<Client>(port, 3000ms);
    EXPECT_TRUE(c->connected());
    c->send_all("x");
    EXPECT_EQ(c->read_n(1), "x");
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

TEST(TcpFaultAccounting, WeightedCountsTheChosenKind) {
  EchoServer echo;
  Harness h;
  const auto port = h.create("p", echo.address());
  ASSERT_NE(port, 0);
  ASSERT_EQ(h.call("POST", "/proxies/p/toxics", weighted(100)).status, 200);
  auto conns = open_connections(port, 2);
  EXPECT_EQ(h.metric("faultline_proxy_faults_injected_total", "kind=\"latency\""), 2);
  EXPECT_LE(h.metric("faultline_proxy_faults_injected_total", "kind=\"weighted\""), 0);
}

TEST(TcpFaultAccounting, NoFaultDrawHoldsNoSlot) {
  EchoServer echo;
  Harness h;
  const auto port = h.create("p", echo.address(), "tcp", {{"max_active_faults", 1}});
  ASSERT_NE(port, 0);
  ASSERT_EQ(h.call("POST", "/proxies/p/toxics", weighted(0.01)).status, 200);
  auto conns = open_connections(port, 5);
  EXPECT_EQ(h.metric("faultline_proxy_fault_overflow_total", "proxy=\"p\""), 0);
}
