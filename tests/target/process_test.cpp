// `faultline target` as a real process: flag validation (exit 2), the "listening on" line,
// graceful SIGTERM, and the durability promise of `--store file:DIR --fsync always` under kill -9.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <fstream>
#include <mutex>
#include <thread>

#include "common/http_client.hpp"
#include "target/solver/solver.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::test;
using namespace std::chrono_literals;

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST(TargetProcess, BadFlagsExit2WithAMessage) {
  TempDir dir;
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"target", "--mode", "sloppy"}, "--mode"},
      {{"target", "--store", "postgres://x"}, "unknown store"},
      {{"target", "--store", "redis://nohost"}, "redis://HOST:PORT"},
      {{"target", "--listen", "not-an-address"}, "--listen"},
      {{"target", "--max-prefix-hex", "17"}, "--max-prefix-hex"},
      {{"target", "--max-paste-bytes", "lots"}, "--max-paste-bytes"},
      {{"target", "--solve-timeout", "-1s"}, "--solve-timeout"},
      {{"target", "--fsync", "sometimes"}, "--fsync"},
      {{"target", "--threads", "many"}, "--threads"},
      {{"target", "--no-such-flag"}, "no-such-flag"},
  };
  for (const auto& [args, fragment] : cases) {
    const std::string err = dir.file("stderr");
    std::filesystem::remove(err);
    auto [rc, out] = run_faultline(args, err, 20s);
    EXPECT_EQ(rc, 2) << args[1] << " " << args[2 % args.size()];
    EXPECT_NE(read_file(err).find(fragment), std::string::npos)
        << "stderr for " << args[1] << ": " << read_file(err);
  }
}

// Issue 12: --solver-threads 100000 (or --threads, --workers) aborted (SIGABRT, exit 134).
TEST(TargetProcess, ThreadCountsAreBoundedWithExit2) {
  TempDir dir;
  const std::vector<std::vector<std::string>> cases = {
      {"target", "--solver-threads", "100000"},
      {"target", "--threads", "100000"},
      {"target", "--mode", "naive", "--workers", "100000"},
  };
  for (const auto& args : cases) {
    const std::string err = dir.file("stderr");
    std::filesystem::remove(err);
    auto [rc, out] = run_faultline(args, err, 20s);
    EXPECT_EQ(rc, 2) << args[1] << " " << args[2] << ": " << read_file(err);
    const std::string flag = args[args.size() - 2];
    EXPECT_NE(read_file(err).find(flag + ": 100000 is more than"), std::string::npos)
        << read_file(err);
  }
}

// A thread that cannot be created (EAGAIN: here no address space is left for its stack) is a
// message and exit 2, never an abort. Address-space limits and sanitizer shadow memory exclude
// each other, so sanitized builds only run the bounds test above.
TEST(TargetProcess, ThreadCreationFailureExits2WithAMessage) {
  if (kSanitized) GTEST_SKIP() << "ulimit -v cannot be combined with sanitizer shadow memory";
  TempDir dir;
  const std::string err = dir.file("stderr");
  for (const std::string flags :
       {"--threads 1 --solver-threads 1000", "--threads 200 --solver-threads 1",
        "--threads 1 --solver-threads 1 --mode naive --workers 1000"}) {
    std::filesystem::remove(err);
    Subprocess p(
        {"/bin/sh", "-c",
         "ulimit -v 1000000 && exec " + faultline_bin() + " target --listen 127.0.0.1:0 " + flags},
        err);
    const int rc = p.wait(20s);
    if (rc != 2) p.signal(SIGKILL);
    EXPECT_EQ(rc, 2) << flags << ": " << read_file(err);
    EXPECT_NE(read_file(err).find("cannot start"), std::string::npos)
        << flags << ": " << read_file(err);
  }
}

TEST(TargetProcess, ListensOnPortZeroAndStopsOnSigterm) {
  auto t = start_faultline(
      {"target", "--listen", "127.0.0.1:0", "--threads", "1", "--solver-threads", "1"});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->address.host, "127.0.0.1");
  EXPECT_NE(t->address.port, 0);
  auto [ec, res] = http_fetch_sync(
      t->address, {.method = "POST", .target = "/pastes", .body = "from a process"});
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.status, 201u);
  EXPECT_EQ(t->process.terminate(5s), 0);
}

// Several clients create pastes as fast as they can; the target is SIGKILLed mid-stream; a new
// target on the same directory must serve every paste that was acknowledged with 201/200.
TEST(TargetProcess, FileStoreKeepsEveryAcknowledgedPasteAfterKill9) {
  TempDir dir;
  const std::string store = "file:" + dir.file("store");
  auto t = start_faultline({"target", "--listen", "127.0.0.1:0", "--store", store, "--fsync",
                            "always", "--threads", "2", "--solver-threads", "1"});
  ASSERT_TRUE(t);
  std::mutex mu;
  std::vector<std::string> acked;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; !stop.load(); ++i) {
        std::string body = "client " + std::to_string(c) + " paste " + std::to_string(i) + " " +
                           std::string(static_cast<std::size_t>(i % 300), 'x');
        auto [ec, res] = http_fetch_sync(
            t->address, {.method = "POST", .target = "/pastes", .body = body, .timeout = 2s});
        if (ec) return;  // the target is gone
        if (res.status == 201 || res.status == 200) {
          std::lock_guard lock(mu);
          acked.push_back(body);
        }
      }
    });
  }
  std::this_thread::sleep_for(1500ms);
  t->process.signal(SIGKILL);
  stop = true;
  for (auto& th : clients)
    th.join();
  t->process.wait(5s);
  ASSERT_GT(acked.size(), 20u) << "too little load to mean anything";

  auto again = start_faultline({"target", "--listen", "127.0.0.1:0", "--store", store, "--threads",
                                "1", "--solver-threads", "1"});
  ASSERT_TRUE(again);
  std::size_t lost = 0;
  for (const auto& body : acked) {
    auto [ec, res] =
        http_fetch_sync(again->address, {.target = "/p/" + target::md5_hex(body), .timeout = 5s});
    ASSERT_FALSE(ec) << ec.message();
    if (res.status != 200 || res.body != body) ++lost;
  }
  EXPECT_EQ(lost, 0u) << "of " << acked.size() << " acknowledged pastes";
  EXPECT_EQ(again->process.terminate(5s), 0);
}

// Naive mode with its Redis SIGSTOPped: workers are stuck in blocking reads forever, yet SIGTERM
// still ends the process (after --shutdown-grace) instead of hanging on them.
TEST(TargetProcess, NaiveModeStopsEvenWithWorkersStuckInAHungStore) {
  RedisServer redis;
  auto t = start_faultline({"target", "--listen", "127.0.0.1:0", "--mode", "naive", "--store",
                            redis.url(), "--workers", "2", "--threads", "1", "--solver-threads",
                            "1", "--shutdown-grace", "300ms"});
  ASSERT_TRUE(t);
  auto [pec, pres] =
      http_fetch_sync(t->address, {.method = "POST", .target = "/pastes", .body = "stuck"});
  ASSERT_FALSE(pec);
  ASSERT_EQ(pres.status, 201u);
  redis.stop_signal();
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i)
    clients.emplace_back([&] {
      http_fetch_sync(t->address, {.target = "/p/" + target::md5_hex("stuck"), .timeout = 5s});
    });
  std::this_thread::sleep_for(300ms);
  const auto t0 = std::chrono::steady_clock::now();
  t->process.signal(SIGTERM);
  const int rc = t->process.wait(5s);
  const auto took = std::chrono::steady_clock::now() - t0;
  redis.continue_signal();
  for (auto& c : clients)
    c.join();
  EXPECT_EQ(rc, 0);
  EXPECT_LT(took, 3s);
}

TEST(TargetProcess, MetricsEndpointPassesPromtool) {
  auto t = start_faultline(
      {"target", "--listen", "127.0.0.1:0", "--threads", "1", "--solver-threads", "1"});
  ASSERT_TRUE(t);
  http_fetch_sync(t->address, {.method = "POST", .target = "/pastes?prefix=ab", .body = "m"});
  auto [ec, res] = http_fetch_sync(t->address, {.target = "/metrics"});
  ASSERT_FALSE(ec);
  ASSERT_EQ(res.status, 200u);
  auto [rc, out] = promtool_check_metrics(res.body);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(res.body.find("faultline_target_solver_candidates_total"), std::string::npos);
  EXPECT_NE(res.body.find("process_resident_memory_bytes"), std::string::npos);
}
