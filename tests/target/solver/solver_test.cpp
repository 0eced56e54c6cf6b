// The solver end to end: correct suffixes for prefixes of 1..6 hex digits on every lane width,
// cancellation and deadlines honoured promptly, and SolverPool's queue (FIFO, bounded, cancelled
// on destruction).
#include <chrono>
#include <future>
#include <random>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "target/solver/md5_lanes.hpp"
#include "target/solver/solver.hpp"
#include "target/solver/solver_internal.hpp"

using namespace faultline::target;
namespace md5 = faultline::target::md5;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

std::string random_content(std::mt19937& rng, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(rng() & 0xff);
  return s;
}

std::string random_prefix(std::mt19937& rng, std::size_t k) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string p;
  for (std::size_t i = 0; i < k; ++i)
    p += kHex[rng() % 16];
  return p;
}

void expect_valid(const SolveRequest& req, const SolveResult& r) {
  ASSERT_EQ(r.status, SolveResult::Status::found);
  for (char c : r.suffix) {
    EXPECT_TRUE(c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r')
        << static_cast<int>(c);
  }
  EXPECT_EQ(r.id, md5_hex(req.content + r.suffix));
  EXPECT_EQ(r.id.substr(0, req.prefix_hex.size()), req.prefix_hex);
  EXPECT_GT(r.attempts, 0u);
  EXPECT_GE(r.seconds, 0.0);
}

// A prefix no test will ever see matched (16 hex digits: 2^-64 per candidate).
SolveRequest endless_request() {
  SolveRequest req;
  req.content = "never";
  req.prefix_hex = "0123456789abcdef";
  return req;
}

}  // namespace

TEST(Solver, SuffixLayoutEndsAtByte52) {
  for (std::size_t len = 0; len < 200; ++len) {
    for (std::size_t k = 1; k <= 16; ++k) {
      std::size_t l = detail::suffix_length(len, k);
      EXPECT_EQ((len + l) % 64, 52u);
      EXPECT_GE(l, detail::min_suffix_digits(k));
      EXPECT_LT(l, detail::min_suffix_digits(k) + 64);
    }
  }
  EXPECT_EQ(detail::min_suffix_digits(1), 4u);
  EXPECT_EQ(detail::min_suffix_digits(6), 12u);
}

// Issue 12: the store's record cap is content max + this bound, so it must cover every suffix
// either segment (the second is 64 bytes longer) can produce.
TEST(Solver, MaxSuffixBytesBoundsEverySuffix) {
  for (std::size_t k = 1; k <= 16; ++k) {
    for (std::size_t len = 0; len < 200; ++len)
      EXPECT_LE(detail::suffix_length(len, k) + 64, max_suffix_bytes(k)) << len << " " << k;
    EXPECT_LE(max_suffix_bytes(k), 256u);
  }
  EXPECT_GE(max_suffix_bytes(16), 52u + 64u);
}

TEST(Solver, PrefixesOfOneToFiveHexOnEveryIsa) {
  std::mt19937 rng(42);
  for (md5::Isa isa : {md5::Isa::scalar, md5::Isa::avx2, md5::Isa::avx512}) {
    if (!md5::isa_supported(isa)) continue;
    for (std::size_t k = 1; k <= 5; ++k) {
      SolveRequest req;
      req.content = random_content(rng, rng() % 200);
      req.prefix_hex = random_prefix(rng, k);
      SolveResult r = solve(req, 2, isa);
      SCOPED_TRACE(std::string(md5::isa_name(isa)) + " prefix " + req.prefix_hex);
      expect_valid(req, r);
    }
  }
}

TEST(Solver, SixHexPrefixBestIsa) {
  if (kSanitized) GTEST_SKIP() << "2^24 candidates: too slow under sanitizers";
  std::mt19937 rng(6);
  SolveRequest req;
  req.content = "a six hex digit vanity id\n";
  req.prefix_hex = random_prefix(rng, 6);
  SolveResult r = solve(req, 2);
  expect_valid(req, r);
}

TEST(Solver, ContentLengthsAroundBlockBoundaries) {
  std::mt19937 rng(3);
  for (std::size_t len : {0, 1, 40, 51, 52, 53, 55, 56, 63, 64, 65, 119, 1000, 100000}) {
    SolveRequest req;
    req.content = random_content(rng, len);
    req.prefix_hex = random_prefix(rng, 3);
    SCOPED_TRACE(len);
    expect_valid(req, solve(req, 2));
  }
}

TEST(Solver, RejectsBadPrefixes) {
  for (const char* bad : {"", "ABC", "xyz", "0123456789abcdef0", "12 4"}) {
    SolveRequest req;
    req.prefix_hex = bad;
    EXPECT_THROW(solve(req, 1), std::invalid_argument) << bad;
    EXPECT_FALSE(valid_prefix_hex(bad));
  }
  EXPECT_TRUE(valid_prefix_hex("0123456789abcdef"));
}

TEST(Solver, CancellationIsPrompt) {
  SolveRequest req = endless_request();
  req.cancelled = std::make_shared<std::atomic<bool>>(false);
  auto canceller = std::thread([flag = req.cancelled] {
    std::this_thread::sleep_for(100ms);
    flag->store(true);
  });
  auto start = Clock::now();
  SolveResult r = solve(req, 2);
  auto took = Clock::now() - start;
  canceller.join();
  EXPECT_EQ(r.status, SolveResult::Status::cancelled);
  EXPECT_GE(took, 90ms);
  // Checked every 1296 candidates (microseconds); the bound is scheduling slack on a loaded CI
  // machine running sanitizers, not the solver.
  EXPECT_LT(took, 1600ms);
  EXPECT_GT(r.attempts, 0u);
}

TEST(Solver, DeadlineIsPrompt) {
  SolveRequest req = endless_request();
  req.deadline = Clock::now() + 150ms;
  auto start = Clock::now();
  SolveResult r = solve(req, 2);
  auto took = Clock::now() - start;
  EXPECT_EQ(r.status, SolveResult::Status::timed_out);
  EXPECT_GE(took, 140ms);
  EXPECT_LT(took, 1650ms);  // see CancellationIsPrompt
  EXPECT_NEAR(r.seconds, std::chrono::duration<double>(took).count(), 0.5);
}

TEST(SolverPool, RunsJobsAndReportsResults) {
  SolverPool pool(2, 0);
  EXPECT_EQ(pool.threads(), 2u);
  std::mt19937 rng(11);
  std::vector<SolveRequest> reqs;
  std::vector<std::promise<SolveResult>> promises(4);
  std::vector<std::future<SolveResult>> futures;
  for (int i = 0; i < 4; ++i) {
    SolveRequest req;
    req.content = random_content(rng, 10 + static_cast<std::size_t>(i) * 30);
    req.prefix_hex = random_prefix(rng, 4);
    reqs.push_back(req);
    futures.push_back(promises[static_cast<std::size_t>(i)].get_future());
    ASSERT_TRUE(pool.submit(req, [&promises, i](SolveResult r) {
      promises[static_cast<std::size_t>(i)].set_value(std::move(r));
    }));
  }
  for (int i = 0; i < 4; ++i) {
    auto& f = futures[static_cast<std::size_t>(i)];
    ASSERT_EQ(f.wait_for(20s), std::future_status::ready);
    expect_valid(reqs[static_cast<std::size_t>(i)], f.get());
  }
}

TEST(SolverPool, QueueFullRejectsAndDestructorCancels) {
  std::atomic<int> cancelled{0}, other{0};
  auto count = [&](SolveResult r) {
    (r.status == SolveResult::Status::cancelled ? cancelled : other).fetch_add(1);
  };
  auto running_flag = std::make_shared<std::atomic<bool>>(false);
  {
    SolverPool pool(2, 2);
    SolveRequest running = endless_request();
    running.cancelled = running_flag;
    ASSERT_TRUE(pool.submit(running, count));
    ASSERT_TRUE(pool.submit(endless_request(), count));
    ASSERT_TRUE(pool.submit(endless_request(), count));
    EXPECT_EQ(pool.queued(), 2u);
    EXPECT_FALSE(pool.submit(endless_request(), count));  // queue full: done() never called
    EXPECT_EQ(pool.queued(), 2u);
    SolveRequest bad;
    bad.prefix_hex = "XYZ";
    EXPECT_THROW(pool.submit(bad, count), std::invalid_argument);
    // Cancelling the running job lets the next one start.
    running_flag->store(true);
    auto until = Clock::now() + 2s;
    // (done() runs when the last thread leaves the job, possibly after the next job started.)
    while ((pool.queued() != 1 || cancelled.load() != 1) && Clock::now() < until) {
      std::this_thread::sleep_for(1ms);
    }
    EXPECT_EQ(pool.queued(), 1u);
    EXPECT_EQ(cancelled.load(), 1);
    EXPECT_TRUE(pool.submit(endless_request(), count));
  }
  // The destructor cancelled the running job and the two queued ones.
  EXPECT_EQ(cancelled.load(), 4);
  EXPECT_EQ(other.load(), 0);
}

TEST(SolverPool, QueuedJobPastItsDeadlineTimesOut) {
  SolverPool pool(1, 0);
  auto flag = std::make_shared<std::atomic<bool>>(false);
  SolveRequest blocker = endless_request();
  blocker.cancelled = flag;
  std::promise<SolveResult> p1, p2;
  ASSERT_TRUE(pool.submit(blocker, [&](SolveResult r) { p1.set_value(std::move(r)); }));
  SolveRequest late;
  late.content = "late";
  late.prefix_hex = "1";
  late.deadline = Clock::now() + 50ms;
  ASSERT_TRUE(pool.submit(late, [&](SolveResult r) { p2.set_value(std::move(r)); }));
  std::this_thread::sleep_for(100ms);
  flag->store(true);
  auto f1 = p1.get_future(), f2 = p2.get_future();
  ASSERT_EQ(f1.wait_for(5s), std::future_status::ready);
  ASSERT_EQ(f2.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f1.get().status, SolveResult::Status::cancelled);
  SolveResult r2 = f2.get();
  EXPECT_EQ(r2.status, SolveResult::Status::timed_out);
  EXPECT_EQ(r2.attempts, 0u);
}
