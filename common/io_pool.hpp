// A pool of event loops, one io_context per thread (the wrk/nginx shape: nothing shared on the hot
// path). Servers put one SO_REUSEPORT acceptor on each loop; clients pin each connection to one
// loop.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/net.hpp"

namespace faultline {

class IoPool {
 public:
  explicit IoPool(std::size_t threads);
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  std::size_t size() const noexcept { return contexts_.size(); }
  asio::io_context& context(std::size_t i) { return *contexts_[i]; }
  // Round-robin choice for new work.
  asio::io_context& next();

  // Starts one thread per context (idempotent). Contexts keep running until stop().
  void start();
  // Stops every context (thread-safe, idempotent; callable from a handler or a signal thread).
  void stop();
  // Joins the threads; returns once stop() was called (from anywhere). Call from one thread only.
  void join();

 private:
  using Guard = asio::executor_work_guard<asio::io_context::executor_type>;
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<Guard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> next_{0};
  std::once_flag stopped_;
};

}  // namespace faultline
