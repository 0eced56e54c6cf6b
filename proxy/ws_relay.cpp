// See ws_relay.hpp. Beast allows one read, one write, one ping and one close in flight on a
// WebSocket stream at a time: each stream is read by one pump and written by the other, a
// relayed ping waits for the one before it (a newer ping replaces one not yet sent), and the
// close is sent by the pump whose side closed, after which both pumps only stop.
#include "proxy/ws_relay.hpp"

#include <array>
#include <exception>
#include <memory>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

#include "proxy/proxy.hpp"
#include "proxy/request_faults.hpp"

namespace faultline::proxy {

void configure_ws(WsStream& ws, Clock::duration handshake) {
  websocket::stream_base::timeout t{};
  t.handshake_timeout = handshake;
  t.idle_timeout = websocket::stream_base::none();
  t.keep_alive_pings = false;
  ws.set_option(t);
  ws.read_message_max(kWsMessageMax);
  ws.auto_fragment(false);
}

namespace {

std::size_t index_of(Stream s) {
  return s == Stream::upstream ? 0 : 1;
}

// The side whose read ended the relay, as a close reason (upstream stream = read from the client).
CloseReason side_of(Stream s) {
  return s == Stream::upstream ? CloseReason::client_closed : CloseReason::upstream_closed;
}

struct Relay {
  Relay(WsRelayContext& c, WsStream& cl, WsStream& up)
      : ctx(c),
        client(cl),
        upstream(up),
        watchdog(cl.get_executor()),
        close_timer(cl.get_executor()),
        delays{asio::steady_timer(cl.get_executor()), asio::steady_timer(cl.get_executor())} {}

  WsRelayContext& ctx;
  WsStream& client;
  WsStream& upstream;
  asio::steady_timer watchdog;               // the idle timeout, and the join of the tasks
  asio::steady_timer close_timer;            // ws_close's `after`
  std::array<asio::steady_timer, 2> delays;  // ws_delay_message, per stream
  Clock::time_point last_read = Clock::now();
  int tasks = 0;        // pumps and ping relays running
  bool ending = false;  // the relay is over: every task only stops
  std::optional<CloseReason> reason;
  struct PingSlot {
    bool busy = false;
    std::optional<std::string> pending;
  };
  std::array<PingSlot, 2> pings;  // by the stream that carries the ping (to the upstream: 0)

  bool over() const { return ending || ctx.closing; }
  void finish(CloseReason r) {
    ending = true;
    if (!reason) reason = r;
    stop_timers();
    ctx.close(r);
    watchdog.cancel();
  }
  // Wakes the tasks that wait (a delayed message, ws_close's `after`), so that they see the
  // relay is over.
  void stop_timers() {
    for (auto& d : delays)
      d.cancel();
    close_timer.cancel();
  }
  void spawn(awaitable<void> task) {
    ++tasks;
    asio::co_spawn(client.get_executor(), std::move(task), [this](std::exception_ptr e) {
      --tasks;
      if (e && !ending) finish(CloseReason::client_closed);
      // Closed from outside (the proxy disabled, updated or deleted): no one else wakes them.
      if (over()) stop_timers();
      watchdog.cancel();
    });
  }
};

// Sends `payload` as a ping on `dst`, then any ping that came meanwhile.
awaitable<void> relay_pings(Relay& r, WsStream& dst, std::size_t slot, std::string payload) {
  for (;;) {
    websocket::ping_data data;
    data.assign(payload.data(), std::min(payload.size(), data.max_size()));
    auto [ec] = co_await dst.async_ping(data, use_nothrow);
    if (ec || r.over() || !r.pings[slot].pending) break;
    payload = std::move(*r.pings[slot].pending);
    r.pings[slot].pending.reset();
  }
  r.pings[slot].busy = false;
  r.pings[slot].pending.reset();
}

void on_control(Relay& r, WsStream& dst, std::size_t slot, websocket::frame_type kind,
                beast::string_view payload) {
  if (kind != websocket::frame_type::ping || r.over()) return;
  auto& p = r.pings[slot];
  if (p.busy) {
    p.pending.emplace(payload.data(), payload.size());
    return;
  }
  p.busy = true;
  r.spawn(relay_pings(r, dst, slot, std::string(payload.data(), payload.size())));
}

// The read of `src` failed: the peer closed (a close frame, which Beast answered: relayed to
// the other side with its code and reason), left, or the connection was closed.
awaitable<void> read_ended(Relay& r, WsStream& src, WsStream& dst, Stream stream, error_code ec) {
  if (r.over()) co_return;
  r.ending = true;
  if (ec == websocket::error::closed) co_await dst.async_close(src.reason(), use_nothrow);
  r.finish(side_of(stream));
}

// ws_close acts: a close frame with its code and reason to its side, 1001 to the other.
awaitable<void> ws_close_now(Relay& r) {
  if (r.over()) co_return;
  r.ending = true;
  const auto& c = *r.ctx.ws_close;
  if (c.acted) c.acted();
  WsStream& target = c.stream == Stream::downstream ? r.client : r.upstream;
  WsStream& other = c.stream == Stream::downstream ? r.upstream : r.client;
  websocket::close_reason reason(c.plan.code);
  reason.reason.assign(c.plan.reason.data(), std::min(c.plan.reason.size(), std::size_t{123}));
  co_await target.async_close(reason, use_nothrow);
  co_await other.async_close(websocket::close_code::going_away, use_nothrow);
  r.finish(CloseReason::fault);
}

awaitable<void> ws_close_after(Relay& r, Clock::duration after) {
  r.close_timer.expires_after(after);
  auto [ec] = co_await r.close_timer.async_wait(use_nothrow);
  if (!ec) co_await ws_close_now(r);
}

// Copies the messages of `src` to `dst` (stream `stream`), fragment by fragment.
awaitable<void> pump(Relay& r, WsStream& src, WsStream& dst, Stream stream) {
  auto buf = std::make_unique<char[]>(kWsReadSize);
  const std::size_t i = index_of(stream);
  const ProxyCounters& counters = r.ctx.proxy.counters();
  prometheus::Counter& bytes =
      *(stream == Stream::upstream ? counters.bytes_upstream : counters.bytes_downstream);
  prometheus::Counter& messages = *counters.ws_messages[i];
  bool in_message = false;
  bool dropping = false;
  bool corrupt = false;
  std::uint64_t index = 0;
  std::uint64_t relayed = 0;     // messages relayed whole (ws_close after_messages)
  std::vector<FaultSlot> slots;  // held while the current message is relayed
  const WsRelayContext::Close* ws_close = nullptr;
  if (r.ctx.ws_close && r.ctx.ws_close->stream == stream && r.ctx.ws_close->plan.after_messages)
    ws_close = &*r.ctx.ws_close;
  for (;;) {
    auto [rec, n] = co_await src.async_read_some(asio::buffer(buf.get(), kWsReadSize), use_nothrow);
    if (rec) {
      co_await read_ended(r, src, dst, stream, rec);
      co_return;
    }
    if (r.over()) co_return;
    r.last_read = Clock::now();
    bytes.Increment(static_cast<double>(n));
    const bool done = src.is_message_done();
    if (!in_message) {
      messages.Increment();
      WsMessageAction a;
      if (r.ctx.on_message) a = r.ctx.on_message(stream, src.got_text(), index);
      ++index;
      slots = std::move(a.slots);
      dropping = a.fault.drop;
      corrupt = a.fault.corrupt && src.got_text();
      if (!dropping && a.fault.delay.count() > 0) {
        count_injected_delay(r.ctx.proxy, a.fault.delay);
        r.delays[i].expires_after(a.fault.delay);
        co_await r.delays[i].async_wait(use_nothrow);
        if (r.over()) co_return;
      }
      dst.text(src.got_text());
    }
    in_message = !done;
    if (done) slots.clear();
    if (dropping) continue;
    std::size_t len = n;
    if (corrupt && (n > 0 || done)) {
      // 0xFF is never valid UTF-8: a conformant reader fails the connection with 1007.
      buf[0] = static_cast<char>(0xFF);
      len = std::max<std::size_t>(n, 1);
      corrupt = false;
    }
    auto [wec, wn] = co_await dst.async_write_some(done, asio::buffer(buf.get(), len), use_nothrow);
    if (wec) {
      if (!r.over())
        r.finish(side_of(stream == Stream::upstream ? Stream::downstream : Stream::upstream));
      co_return;
    }
    if (done && ws_close && ++relayed >= *ws_close->plan.after_messages) {
      co_await ws_close_now(r);
      co_return;
    }
  }
}

}  // namespace

awaitable<CloseReason> relay_websocket(WsStream& client, WsStream& upstream, WsRelayContext& ctx) {
  Relay r(ctx, client, upstream);
  client.control_callback([&r](websocket::frame_type kind, beast::string_view payload) {
    on_control(r, r.upstream, 0, kind, payload);
  });
  upstream.control_callback([&r](websocket::frame_type kind, beast::string_view payload) {
    on_control(r, r.client, 1, kind, payload);
  });
  if (ctx.ws_close && ctx.ws_close->plan.after)
    r.spawn(ws_close_after(r, *ctx.ws_close->plan.after));
  r.spawn(pump(r, client, upstream, Stream::upstream));
  r.spawn(pump(r, upstream, client, Stream::downstream));
  while (r.tasks > 0) {
    if (r.over())
      r.watchdog.expires_after(std::chrono::hours(1));  // until the tasks are done
    else
      r.watchdog.expires_at(saturating_add(r.last_read, ctx.idle));
    co_await r.watchdog.async_wait(use_nothrow);
    if (r.tasks > 0 && !r.over() && Clock::now() - r.last_read >= ctx.idle)
      r.finish(CloseReason::idle_timeout);
  }
  client.control_callback();
  upstream.control_callback();
  co_return r.reason.value_or(CloseReason::proxy_disabled);
}

}  // namespace faultline::proxy
