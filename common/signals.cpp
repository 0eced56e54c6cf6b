// See signals.hpp: blocked stop signals taken synchronously with sigwait()/sigtimedwait().
#include "common/signals.hpp"

#include <pthread.h>

#include <cerrno>
#include <ctime>

namespace faultline {

StopSignals::StopSignals() {
  sigemptyset(&stop_set_);
  sigaddset(&stop_set_, SIGINT);
  sigaddset(&stop_set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_set_, &old_mask_);
}

StopSignals::~StopSignals() {
  // A repeated Ctrl-C or SIGTERM during shutdown is absorbed: take every pending stop signal
  // before unblocking, or the first one still pending would kill the process on the way out.
  const timespec zero{};
  while (sigtimedwait(&stop_set_, nullptr, &zero) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

int StopSignals::wait() {
  if (int r = received_.load()) return r;
  int sig = 0;
  while (sigwait(&stop_set_, &sig) != 0) {
  }
  int expected = 0;
  received_.compare_exchange_strong(expected, sig);
  return received_.load();
}

std::optional<int> StopSignals::wait_for(std::chrono::nanoseconds timeout) {
  if (int r = received_.load()) return r;
  if (timeout < std::chrono::nanoseconds::zero()) timeout = std::chrono::nanoseconds::zero();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(secs.count());
  ts.tv_nsec = static_cast<long>((timeout - secs).count());
  int sig = -1;
  do {
    sig = sigtimedwait(&stop_set_, nullptr, &ts);
  } while (sig < 0 && errno == EINTR);  // a signal outside the set interrupted: wait again
  if (sig < 0) return std::nullopt;     // EAGAIN: the timeout passed
  int expected = 0;
  received_.compare_exchange_strong(expected, sig);
  return received_.load();
}

}  // namespace faultline
