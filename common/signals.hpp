// SIGINT/SIGTERM for faultline's long-running commands (target, proxy, load, run), one way for all:
// the stop signals are blocked before any thread starts, so every thread inherits the block and no
// asynchronous handler ever runs; the thread that owns shutdown takes them synchronously with
// `wait()` (block) or `wait_for()`/`received()` (poll). Create one StopSignals at the top of a
// command, before its thread pools, and keep it alive until shutdown is done.
#pragma once

#include <signal.h>

#include <atomic>
#include <chrono>
#include <optional>

namespace faultline {

class StopSignals {
 public:
  // Blocks SIGINT and SIGTERM in the calling thread (and so in every thread it starts later).
  StopSignals();
  // Takes (absorbs) stop signals still pending, then restores the calling thread's previous mask.
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Blocks until SIGINT or SIGTERM arrives; returns its number (also when one arrived earlier).
  int wait();
  // Waits at most `timeout` (zero: just polls); the signal's number, or nullopt when none came.
  std::optional<int> wait_for(std::chrono::nanoseconds timeout);
  // Whether a stop signal has arrived (polls the pending set; never blocks).
  bool received() { return wait_for(std::chrono::nanoseconds::zero()).has_value(); }

 private:
  sigset_t stop_set_{};
  sigset_t old_mask_{};
  std::atomic<int> received_{0};  // latched: the first stop signal taken
};

}  // namespace faultline
