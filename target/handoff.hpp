// Hands a result computed on another thread (solver pool, file-log writer, naive worker pool) back
// to a coroutine on its event loop. The producer posts to the waiter's executor, so the value and
// the wake-up happen on the waiter's own thread: no locks, no lost wake-ups.
#pragma once

#include <memory>
#include <optional>
#include <utility>

#include <boost/asio/post.hpp>

#include "common/net.hpp"

namespace faultline::target {

template <typename T>
class Handoff {
 public:
  explicit Handoff(asio::any_io_executor ex)
      : timer_(std::move(ex), asio::steady_timer::time_point::max()) {}

  // Callable from any thread, once.
  static void deliver(std::shared_ptr<Handoff> self, T value) {
    auto ex = self->timer_.get_executor();
    asio::post(ex, [self = std::move(self), v = std::move(value)]() mutable {
      self->value_ = std::move(v);
      self->timer_.cancel();
    });
  }

  // Waits on the owner's executor until the value is there (or the wait is cancelled by a racing
  // operation, in which case has_value() stays false).
  static awaitable<void> wait(std::shared_ptr<Handoff> self) {
    while (!self->value_) {
      auto [ec] = co_await self->timer_.async_wait(use_nothrow);
      if (ec && ec != asio::error::operation_aborted) break;
      if (ec == asio::error::operation_aborted && !self->value_) {
        // Cancelled from outside (the racing branch won) rather than by deliver().
        co_return;
      }
    }
  }

  bool has_value() const { return value_.has_value(); }
  T& value() { return *value_; }

 private:
  asio::steady_timer timer_;
  std::optional<T> value_;
};

}  // namespace faultline::target
