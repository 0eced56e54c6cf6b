// `faultline load --start-at`: the parser (absolute and relative forms, the 1 s tolerance for a
// start in the past, milliseconds mistaken for seconds), and end to end: two shards given the
// same instant begin their second 0 there (the "started at" line, the first request the server
// sees, their per-second intervals line up); a start in the past is exit 2, lateness counted
// from the process's start (a slow start-up does not count); an empty or malformed value is exit 2;
// a stop signal during the wait ends the run at once.
#include "loadgen/start_at.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <thread>

#include <fmt/format.h>

#include "common/ready_line.hpp"
#include "common/subprocess.hpp"
#include "tests/loadgen/load_support.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::test;
using namespace faultline::test::load;
using namespace std::chrono_literals;
using faultline::loadgen::parse_start_at;

namespace {

constexpr double kNow = 1'800'000'000.0;

// The wall-clock time of a steady-clock instant (as of now).
double wall_of(Clock::time_point t) {
  return loadgen::unix_now() - std::chrono::duration<double>(Clock::now() - t).count();
}

std::optional<Clock::time_point> first_arrival() {
  std::lock_guard lock(g_mu);
  return g_first;
}

}  // namespace

TEST(StartAtParse, AbsoluteAndRelativeForms) {
  std::string error;
  EXPECT_DOUBLE_EQ(*parse_start_at("1800000010", kNow, error), kNow + 10);
  EXPECT_DOUBLE_EQ(*parse_start_at("1800000010.25", kNow, error), kNow + 10.25);
  EXPECT_DOUBLE_EQ(*parse_start_at("+10s", kNow, error), kNow + 10);
  EXPECT_DOUBLE_EQ(*parse_start_at("+1m", kNow, error), kNow + 60);
  EXPECT_DOUBLE_EQ(*parse_start_at("+0s", kNow, error), kNow);
  EXPECT_DOUBLE_EQ(*parse_start_at("+500ms", kNow, error), kNow + 0.5);
  EXPECT_DOUBLE_EQ(*parse_start_at("+10", kNow, error), kNow + 10);  // seconds, as --duration
}

TEST(StartAtParse, MalformedIsRefusedNamingTheFlag) {
  for (const char* bad : {"", "+", "+x", "abc", "-5", "12abc", "1e400", "nan", " 1", "+-1s"}) {
    std::string error;
    EXPECT_FALSE(parse_start_at(bad, kNow, error)) << bad;
    EXPECT_NE(error.find("--start-at"), std::string::npos) << bad << ": " << error;
  }
}

TEST(StartAtParse, PastWithinOneSecondIsTakenBeyondIsNot) {
  std::string error;
  EXPECT_DOUBLE_EQ(*parse_start_at("1799999999.5", kNow, error), kNow - 0.5);
  EXPECT_DOUBLE_EQ(*parse_start_at("1799999999", kNow, error), kNow - 1);
  EXPECT_FALSE(parse_start_at("1799999998.9", kNow, error));
  EXPECT_NE(error.find("in the past"), std::string::npos) << error;
}

TEST(StartAtParse, MillisecondsForSecondsAreRefused) {
  std::string error;
  EXPECT_FALSE(parse_start_at("1800000000000", kNow, error));
  EXPECT_NE(error.find("not milliseconds"), std::string::npos) << error;
  EXPECT_TRUE(parse_start_at(fmt::format("{}", kNow + 23 * 3600), kNow, error));
}

TEST(StartAt, ShardsGivenTheSameInstantBeginTogether) {
  TestServer server;
  TempDir dir;
  // Far enough ahead (5-6 s) for both processes to be up and waiting on a busy 2-core machine,
  // two ASan start-ups side by side included.
  const double start = std::floor(loadgen::unix_now()) + 6;
  const std::string at = fmt::format("{:.0f}", start);
  std::vector<Subprocess> shards;
  for (int i = 0; i < 2; ++i)
    shards.emplace_back(std::vector<std::string>{faultline_bin(),
                                                 "load",
                                                 server.url(),
                                                 "--rate",
                                                 "40",
                                                 "--duration",
                                                 "2s",
                                                 "--shard",
                                                 fmt::format("{}/2", i),
                                                 "-q",
                                                 "--threads",
                                                 "1",
                                                 "--start-at",
                                                 at,
                                                 "--metrics-listen",
                                                 "127.0.0.1:0",
                                                 "--intervals-out",
                                                 dir.file(fmt::format("i{}.jsonl", i)),
                                                 "--out",
                                                 dir.file(fmt::format("r{}.json", i))},
                        dir.file(fmt::format("err{}.txt", i)));
  for (auto& s : shards) {
    auto line = s.wait_for_line(std::string(ready_line::kStartedAt), 10s);
    ASSERT_TRUE(line) << s.output();
    // Second 0 is the given instant itself, not when each process happened to be ready.
    EXPECT_NEAR(*ready_line::parse_started_at(*line), start, 1e-3);
  }
  // Nothing is sent before the instant.
  EXPECT_FALSE(first_arrival()) << "a request arrived before --start-at";
  for (auto& s : shards)
    ASSERT_EQ(s.wait(20s), 0) << slurp(dir.file("err0.txt")) << slurp(dir.file("err1.txt"));
  ASSERT_TRUE(first_arrival());
  const double first = wall_of(*first_arrival());
  std::printf("first request %.1f ms after --start-at\n", (first - start) * 1e3);
  EXPECT_GE(first, start - 0.005);
  EXPECT_LT(first, start + 0.5);  // the first arrival is due 12.5 ms after it
  // Both shards' intervals end on the same whole seconds after the common start.
  const auto a = read_lines(dir.file("i0.jsonl")), b = read_lines(dir.file("i1.jsonl"));
  ASSERT_GE(a.size(), 2u);
  ASSERT_GE(b.size(), 2u);
  for (std::size_t k = 0; k < 2; ++k) {
    EXPECT_NEAR(a[k]["t"].get<double>(), static_cast<double>(k + 1), 0.3) << a[k];
    EXPECT_NEAR(b[k]["t"].get<double>(), static_cast<double>(k + 1), 0.3) << b[k];
  }
  // 40 req/s for 2 s, split over the two shards.
  const json r0 = read_json(dir.file("r0.json")), r1 = read_json(dir.file("r1.json"));
  EXPECT_EQ(r0["requests"]["total"].get<int>() + r1["requests"]["total"].get<int>(), 80);
}

TEST(StartAt, RelativeFormWaitsThatLong) {
  TestServer server;
  TempDir dir;
  const auto t0 = Clock::now();
  auto [code, out] = run_faultline({"load", server.url(), "--rate", "20", "--duration", "1s", "-q",
                                    "--threads", "1", "--start-at", "+2s"},
                                   dir.file("err.txt"));
  ASSERT_EQ(code, 0) << slurp(dir.file("err.txt"));
  ASSERT_TRUE(first_arrival());
  const double waited = std::chrono::duration<double>(*first_arrival() - t0).count();
  EXPECT_GE(waited, 1.95);
  EXPECT_LT(waited, 3.5);  // + the process start-up (sanitizer builds)
}

TEST(StartAt, PastIsUsageErrorUnlessWithinOneSecond) {
  TestServer server;
  TempDir dir;
  const double now = loadgen::unix_now();
  auto [code, out] = run_faultline({"load", server.url(), "--rate", "10", "--duration", "1s", "-q",
                                    "--start-at", fmt::format("{:.3f}", now - 5)},
                                   dir.file("err.txt"));
  EXPECT_EQ(code, 2);
  EXPECT_NE(slurp(dir.file("err.txt")).find("in the past"), std::string::npos);
  EXPECT_FALSE(first_arrival());
  // Half a second late (a pod that started slowly): taken, and the run still begins there. The
  // lateness is counted from the process's start, not from when faultline got to its flags: here
  // a shell sleeps 0.8 s before it execs faultline (the same process, so the same start time),
  // standing for a slow start-up (ASan on a busy machine took 0.7 s). Counted from the parse, the
  // start would be 1.3 s late and refused. 3 s long, so that time is left to send.
  Subprocess p({"/bin/sh", "-c", "sleep 0.8; exec \"$0\" \"$@\"", faultline_bin(), "load",
                server.url(), "--rate", "10", "--duration", "3s", "-q", "--start-at",
                fmt::format("{:.3f}", loadgen::unix_now() - 0.5), "--out", dir.file("r.json")},
               dir.file("err2.txt"));
  EXPECT_EQ(p.wait(20s), 0) << slurp(dir.file("err2.txt"));
  EXPECT_TRUE(first_arrival());
}

// Issue 22 #12: `--start-at ''` used to mean "now" (an empty value was taken for no flag), so a
// wrapper whose variable was unset started its shard unaligned without a word. Given, the value
// must parse: empty or malformed is exit 2 naming the flag, and nothing is sent.
TEST(StartAt, EmptyOrMalformedValueIsUsageError) {
  TestServer server;
  for (const std::string bad : {"", " ", "+", "soon"}) {
    TempDir dir;
    auto [code, out] = run_faultline(
        {"load", server.url(), "--rate", "10", "--duration", "500ms", "-q", "--start-at", bad},
        dir.file("err.txt"));
    const std::string err = slurp(dir.file("err.txt"));
    EXPECT_EQ(code, 2) << "--start-at '" << bad << "': " << err;
    EXPECT_NE(err.find("--start-at"), std::string::npos) << err;
  }
  EXPECT_FALSE(first_arrival());
}

TEST(StartAt, LaunchTimeIsTheProcessStartNotNow) {
  // This test program has been running for a while when it gets here; launch_unix() is its
  // start, to the clock tick, the same on every call, and not after now.
  const double a = loadgen::launch_unix();
  std::this_thread::sleep_for(100ms);
  const double b = loadgen::launch_unix();
  EXPECT_NEAR(a, b, 0.025);
  EXPECT_LE(b, loadgen::unix_now());
  EXPECT_GT(b, loadgen::unix_now() - loadgen::kLaunchMaxAgeSeconds);
  EXPECT_LT(b, loadgen::unix_now() - 0.09);
}

TEST(StartAt, StopSignalDuringTheWaitEndsTheRunAtOnce) {
  TestServer server;
  TempDir dir;
  Subprocess p(
      {faultline_bin(), "load", server.url(), "--rate", "10", "--duration", "5s", "-q",
       "--start-at", "+60s", "--metrics-listen", "127.0.0.1:0", "--out", dir.file("r.json")},
      dir.file("err.txt"));
  ASSERT_TRUE(p.wait_for_line(std::string(ready_line::kStartedAt), 10s)) << p.output();
  std::this_thread::sleep_for(200ms);
  const auto t0 = Clock::now();
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(10s), 0) << slurp(dir.file("err.txt"));
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 3.0);
  const json r = read_json(dir.file("r.json"));
  EXPECT_TRUE(r["interrupted"].get<bool>());
  EXPECT_EQ(r["requests"]["total"].get<int>(), 0);
  EXPECT_FALSE(first_arrival());
}
