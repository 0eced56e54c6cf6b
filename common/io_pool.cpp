#include "common/io_pool.hpp"

#include <spdlog/spdlog.h>

namespace faultline {

IoPool::IoPool(std::size_t threads) {
  if (threads == 0) threads = 1;
  for (std::size_t i = 0; i < threads; ++i) {
    // Concurrency hint 1: each context is driven by exactly one thread, so Asio can skip locking.
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    guards_.emplace_back(asio::make_work_guard(*contexts_.back()));
  }
}

IoPool::~IoPool() {
  stop();
  join();
}

asio::io_context& IoPool::next() {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void IoPool::start() {
  if (!threads_.empty()) return;
  for (auto& ctx : contexts_) {
    threads_.emplace_back([c = ctx.get()] {
      for (;;) {
        try {
          c->run();
          return;
        } catch (const std::exception& e) {
          // Handlers are not supposed to throw; log and keep the loop alive.
          spdlog::error("event loop: unhandled exception: {}", e.what());
        }
      }
    });
  }
}

void IoPool::stop() {
  std::call_once(stopped_, [this] {
    for (auto& g : guards_)
      g.reset();
    for (auto& ctx : contexts_)
      ctx->stop();
  });
}

void IoPool::join() {
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

}  // namespace faultline
