// The MD5 prefix solver: finds a suffix made only of ASCII whitespace (space, \t, \n, \v, \f, \r)
// such that md5(content + suffix) starts with a given hex prefix. `SolverPool` runs one job at a
// time on all of its threads (used by `faultline target`'s /solve and vanity pastes); `solve` is
// the synchronous form used by `faultline solve` and the tests.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "target/solver/md5_lanes.hpp"

namespace faultline::target {

// 32 lowercase hex digits of MD5(data) (OpenSSL EVP).
std::string md5_hex(std::string_view data);

// The longest suffix the solver can append for a prefix of `prefix_hex_len` hex digits: what a
// vanity paste may add to its content (the store's record cap must cover it).
std::size_t max_suffix_bytes(std::size_t prefix_hex_len);

// True when `prefix_hex` is 1..16 lowercase hex digits (what SolveRequest::prefix_hex must be).
bool valid_prefix_hex(std::string_view prefix_hex);

struct SolveRequest {
  std::string content;
  std::string prefix_hex;  // lowercase hex, 1..16 chars (std::invalid_argument otherwise)
  // May be null; the caller sets it to abandon the job (checked every 1296 candidates).
  std::shared_ptr<std::atomic<bool>> cancelled;
  // Checked every 1296 candidates; a job still queued when it passes ends as timed_out.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

struct SolveResult {
  enum class Status { found, cancelled, timed_out };
  Status status = Status::timed_out;
  std::string suffix;  // whitespace only; md5(content + suffix) starts with the prefix (found only)
  std::string id;      // md5_hex(content + suffix) (found only)
  std::uint64_t attempts = 0;  // candidates hashed, over all threads
  double seconds = 0;  // from the job's start on the solver threads to its end (no queueing)
};

struct SolveJob;  // defined in solver.cpp

// Owns `threads` threads; runs one job at a time using ALL threads (FIFO queue of jobs).
class SolverPool {
 public:
  // max_queue bounds the jobs waiting behind the running one (0 = unbounded). Throws
  // std::system_error (and leaves no thread behind) when a thread cannot be created.
  SolverPool(unsigned threads, std::size_t max_queue /*0 = unbounded*/);
  // Cancels the running and queued jobs (their done() is called with Status::cancelled) and joins.
  ~SolverPool();
  SolverPool(const SolverPool&) = delete;
  SolverPool& operator=(const SolverPool&) = delete;

  // Queues a job; false (and `done` is not called) when max_queue jobs are already waiting.
  // `done` is called exactly once, on a solver thread, when the job ends; it must not block.
  // Throws std::invalid_argument when req.prefix_hex is not valid_prefix_hex.
  bool submit(SolveRequest req, std::function<void(SolveResult)> done);
  // Jobs waiting to start (not counting the one running).
  std::size_t queued() const;
  unsigned threads() const { return static_cast<unsigned>(workers_.size()); }

 private:
  void worker_loop();

  std::size_t max_queue_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::shared_ptr<SolveJob> current_;
  std::deque<std::shared_ptr<SolveJob>> waiting_;
  std::uint64_t next_job_id_ = 1;
  std::vector<std::thread> workers_;
};

// Synchronous convenience (used by `faultline solve` and tests): solves on `threads` threads
// (the calling thread is one of them), with the best lane width the CPU has.
// Throws std::invalid_argument when req.prefix_hex is not valid_prefix_hex.
SolveResult solve(const SolveRequest& req, unsigned threads);
// The same with a forced lane width (std::invalid_argument if the CPU lacks it).
SolveResult solve(const SolveRequest& req, unsigned threads, md5::Isa isa);

}  // namespace faultline::target
