// Subprocess: a child does not inherit the parent's blocked stop signals (StopSignals), so
// SIGTERM stops it at once instead of after the grace period's SIGKILL.
#include "common/subprocess.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "common/signals.hpp"

namespace faultline {
namespace {

using namespace std::chrono_literals;

TEST(Subprocess, ChildStartsWithTheStopSignalsUnblocked) {
  StopSignals parent_blocks_them;
  Subprocess child({"sleep", "30"});
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(child.terminate(3000ms), 128 + SIGTERM);  // 128 + SIGKILL had it kept the block
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2500ms);
  EXPECT_FALSE(parent_blocks_them.received());
}

TEST(Subprocess, ReadsItsReadinessLine) {
  Subprocess child({"sh", "-c", "echo starting; echo listening on 127.0.0.1:5; sleep 30"});
  auto line = child.wait_for_line("listening on", 5000ms);
  ASSERT_TRUE(line);
  EXPECT_EQ(*line, "listening on 127.0.0.1:5");
  EXPECT_EQ(child.terminate(3000ms), 128 + SIGTERM);
}

}  // namespace
}  // namespace faultline
