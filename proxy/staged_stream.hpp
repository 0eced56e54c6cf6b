// The stream toxics on a WebSocket connection upgraded through an http proxy (docs/proxy.md
// "WebSocket"): an async stream under Beast's WebSocket stream, over the connection's own stream
// (plain or TLS), that runs the bytes written to one side through the stages of that direction
// (stage_links.hpp: drawn once per connection and direction, as on a tcp proxy) below the
// WebSocket framing. Reads pass through. Until start() (the handshakes) and whenever no stage is
// active and nothing is queued, a write is the plain write of the stream under it. Otherwise the
// bytes become pieces in a queue that a writer coroutine writes when due, as the tcp engine's
// writer does; a write completes once the queue holds at most kStagedQueueMax bytes (the
// back-pressure: the relay's pump, then TCP, push back on the sender). A stage's close or reset
// closes both sides (CloseReason::fault), as does a stage's deadline (timeout). Beast's teardown
// (after a close handshake) waits for the queue to be written, plus slow_close's delay.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include "common/net.hpp"
#include "proxy/proxy.hpp"
#include "proxy/stage_links.hpp"

namespace faultline::proxy {

// Bytes a direction may hold in its queue (delayed by toxics) before writes stop completing.
inline constexpr std::size_t kStagedQueueMax = 4 * 1024 * 1024;
// The most one write takes from the caller's buffers (a WebSocket frame is written in pieces).
inline constexpr std::size_t kStagedWriteMax = 64 * 1024;

// The state of one direction, shared by the stream and its writer coroutine.
struct StagedState {
  explicit StagedState(const asio::any_io_executor& ex) : timer(ex) {}

  Proxy* proxy = nullptr;
  Stream stream = Stream::downstream;
  Rng rng{0};
  std::uint64_t seen_generation = 0;
  StageLinks links;
  std::deque<StreamItem> queue;
  std::size_t queued_bytes = 0;
  bool writer_busy = false;  // writing an item (or done): no plain write may start
  bool eof_held = false;     // a teardown held back by a stage (timeout)
  bool stopped = false;      // the connection closed
  error_code failed;         // a write of the writer failed
  asio::steady_timer timer;  // the writer's wait (cancelled to wake it)
  // Closes both sides of the connection; `rst`: with a TCP RST.
  std::function<void(CloseReason, bool rst)> close;
  std::optional<asio::any_completion_handler<void(error_code, std::size_t)>> pending_write;
  std::size_t pending_size = 0;
  std::optional<asio::any_completion_handler<void(error_code)>> pending_teardown;
  beast::role_type teardown_role = beast::role_type::server;

  bool staged() const { return links.any_active() || !queue.empty() || writer_busy; }
  void push(StreamItem item) {
    queued_bytes += item.bytes.size();
    queue.push_back(std::move(item));
    timer.cancel();
  }
  // Re-links to the proxy's toxics when they changed; a held EOF follows once no stage holds it.
  void refresh() {
    const std::uint64_t gen = proxy->generation();
    if (gen == seen_generation) return;
    seen_generation = gen;
    const auto now = Clock::now();
    links.refresh(*proxy, *proxy->toxics(), stream, StageLinks::Kind::upgraded, rng, now);
    if (eof_held && !links.holds_eof()) {
      eof_held = false;
      push(StreamItem{now + links.on_eof(), StreamItem::Kind::eof, {}});
    }
  }
  void complete_write(error_code ec) {
    if (!pending_write) return;
    auto h = std::move(*pending_write);
    pending_write.reset();
    const std::size_t n = ec ? 0 : pending_size;
    // (A lambda: Boost 1.81 cannot post an any_completion_handler to its own executor.)
    asio::post(timer.get_executor(), [h = std::move(h), ec, n]() mutable { std::move(h)(ec, n); });
  }
  void fail(error_code ec) {
    if (!failed) failed = ec;
    complete_write(ec);
    if (pending_teardown) {
      auto h = std::move(*pending_teardown);
      pending_teardown.reset();
      asio::post(timer.get_executor(), [h = std::move(h), ec]() mutable { std::move(h)(ec); });
    }
  }
  // The connection closed: every wait ends, pending operations fail.
  void stop() {
    if (stopped) return;
    stopped = true;
    links.clear();
    timer.cancel();
    fail(asio::error::operation_aborted);
  }
};

template <class Next>
class StagedStream;

template <class Next>
awaitable<void> staged_writer(std::shared_ptr<StagedState> st, Next& next,
                              std::shared_ptr<void> keep_alive);

template <class Next>
class StagedStream {
 public:
  using executor_type = typename Next::executor_type;
  using next_layer_type = Next;

  explicit StagedStream(Next& next) : next_(next) {}
  StagedStream(const StagedStream&) = delete;
  StagedStream& operator=(const StagedStream&) = delete;

  executor_type get_executor() noexcept { return next_.get_executor(); }
  Next& next_layer() noexcept { return next_; }

  // From now on the writes are direction `stream`'s (downstream: this stream goes to the client)
  // and go through its stages: draws them (with a generator seeded by `seed`) and starts the
  // writer, which keeps `keep_alive` (the connection owning `next`) while it runs. `close` closes
  // both sides. Returns the state, whose stop() the connection calls when it closes.
  std::shared_ptr<StagedState> start(Proxy& proxy, Stream stream, std::uint64_t seed,
                                     std::function<void(CloseReason, bool)> close,
                                     std::shared_ptr<void> keep_alive) {
    st_ = std::make_shared<StagedState>(next_.get_executor());
    st_->proxy = &proxy;
    st_->stream = stream;
    st_->rng = Rng(seed);
    st_->close = std::move(close);
    st_->seen_generation = proxy.generation() + 1;  // never equal: the first refresh links
    st_->refresh();
    asio::co_spawn(next_.get_executor(), staged_writer(st_, next_, std::move(keep_alive)),
                   asio::detached);
    return st_;
  }

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return next_.async_read_some(buffers, std::forward<Token>(token));
  }

  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) { write(std::move(handler), b); }, token, buffers);
  }

  // Beast's teardown of this stream (websocket::async_teardown, found by ADL below).
  template <class Handler>
  void teardown_async(beast::role_type role, Handler&& handler) {
    using beast::websocket::async_teardown;
    if (st_ && !st_->stopped) st_->refresh();
    if (!st_ || st_->stopped || (!st_->staged() && !st_->failed)) {
      async_teardown(role, next_, std::forward<Handler>(handler));
      return;
    }
    auto ex = next_.get_executor();
    if (st_->failed || st_->pending_teardown) {
      asio::post(ex, asio::append(std::forward<Handler>(handler),
                                  st_->failed ? st_->failed : asio::error::operation_aborted));
      return;
    }
    st_->pending_teardown.emplace(std::forward<Handler>(handler));
    st_->teardown_role = role;
    if (st_->links.holds_eof()) {
      st_->eof_held = true;  // released by a refresh without the holding stage, or the close
      return;
    }
    st_->push(StreamItem{Clock::now() + st_->links.on_eof(), StreamItem::Kind::eof, {}});
  }

 private:
  template <class Handler, class Buffers>
  void write(Handler handler, const Buffers& buffers) {
    auto ex = next_.get_executor();
    if (st_ && !st_->stopped) st_->refresh();
    if (!st_ || st_->stopped || (!st_->staged() && !st_->failed)) {
      next_.async_write_some(buffers, std::move(handler));
      return;
    }
    if (st_->failed) {
      asio::post(ex, asio::append(std::move(handler), st_->failed, std::size_t{0}));
      return;
    }
    const std::size_t n = std::min(asio::buffer_size(buffers), kStagedWriteMax);
    const auto now = Clock::now();
    std::vector<Piece> pieces;
    pieces.push_back(Piece{now, std::string(n, '\0')});
    asio::buffer_copy(asio::buffer(pieces.back().bytes), buffers);
    StreamEffects fx;
    st_->links.on_data(pieces, now, fx);
    if (fx.added_delay.count() > 0)
      st_->proxy->counters().injected_delay->Increment(
          std::chrono::duration<double>(fx.added_delay).count());
    for (auto& p : pieces)
      st_->push(StreamItem{p.due, StreamItem::Kind::data, std::move(p.bytes)});
    if (fx.close_at) st_->push(StreamItem{*fx.close_at, StreamItem::Kind::close, {}});
    if (fx.reset_at) st_->push(StreamItem{*fx.reset_at, StreamItem::Kind::reset, {}});
    if (st_->queued_bytes <= kStagedQueueMax) {
      asio::post(ex, asio::append(std::move(handler), error_code{}, n));
      return;
    }
    st_->pending_write.emplace(std::move(handler));
    st_->pending_size = n;
  }

  Next& next_;
  std::shared_ptr<StagedState> st_;
};

// Writes the queue of `st` to `next` as its items fall due (the tcp engine's writer).
template <class Next>
awaitable<void> staged_writer(std::shared_ptr<StagedState> st, Next& next,
                              std::shared_ptr<void> keep_alive) {
  static_cast<void>(keep_alive);  // held in the frame: `next` lives as long as the writer
  for (;;) {
    if (st->stopped) break;
    const auto now = Clock::now();
    const auto deadline = st->links.deadline();
    if (deadline && now >= *deadline) {  // timeout: the connection closes
      st->close(CloseReason::fault, false);
      break;
    }
    if (st->queue.empty() || st->queue.front().due > now) {
      st->writer_busy = false;
      auto until = st->queue.empty() ? Clock::time_point::max() : st->queue.front().due;
      if (deadline) until = std::min(until, *deadline);
      st->timer.expires_at(until);
      co_await st->timer.async_wait(use_nothrow);
      continue;
    }
    st->writer_busy = true;
    StreamItem item = std::move(st->queue.front());
    st->queue.pop_front();
    st->queued_bytes -= item.bytes.size();
    if (st->queued_bytes <= kStagedQueueMax) st->complete_write({});
    if (item.kind == StreamItem::Kind::data) {
      auto [ec, n] = co_await asio::async_write(next, asio::buffer(item.bytes), use_nothrow);
      if (ec && !st->stopped) st->fail(ec);
      if (ec) break;
      continue;
    }
    if (item.kind == StreamItem::Kind::eof) {
      if (st->pending_teardown) {
        using beast::websocket::async_teardown;
        auto h = std::move(*st->pending_teardown);
        st->pending_teardown.reset();
        async_teardown(
            st->teardown_role, next,
            asio::bind_executor(next.get_executor(),
                                [h = std::move(h)](error_code ec) mutable { std::move(h)(ec); }));
      }
      break;  // nothing follows a teardown (writer_busy stays set)
    }
    st->close(CloseReason::fault, item.kind == StreamItem::Kind::reset);
    break;
  }
  if (st->stopped) st->fail(asio::error::operation_aborted);
}

// Beast closes a WebSocket's transport through these (ADL).
template <class Next>
void teardown(beast::role_type role, StagedStream<Next>& s, error_code& ec) {
  using beast::websocket::teardown;
  teardown(role, s.next_layer(), ec);
}
template <class Next, class TeardownHandler>
void async_teardown(beast::role_type role, StagedStream<Next>& s, TeardownHandler&& handler) {
  s.teardown_async(role, std::forward<TeardownHandler>(handler));
}

}  // namespace faultline::proxy
