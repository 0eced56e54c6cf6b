// The WebSocket relay of the http engine (docs/proxy.md "WebSocket"): once both handshakes are
// done (http_websocket.cpp), two pumps copy frames between the client's and the upstream's
// WebSocket streams, one read of at most 64 KiB at a time, so message boundaries are kept (a
// message goes out as the fragments it arrived in) and no message is ever held whole. Pings are
// answered per hop by Beast and relayed to the other side; a close frame from one side is
// answered there (by Beast) and relayed to the other with its code and reason; a connection with
// no frame read on either side for the idle timeout is closed on both.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "common/net.hpp"
#include "proxy/behavior.hpp"
#include "proxy/proxy.hpp"
#include "proxy/staged_stream.hpp"
#include "proxy/tls_stream.hpp"

namespace faultline::proxy {

namespace websocket = beast::websocket;

// The http engine's stream (plain or TLS), under the stream toxics' stages (staged_stream.hpp),
// as the next layer of a WebSocket stream.
using WsNext = MaybeTlsStream<beast::tcp_stream>;
using WsStream = websocket::stream<StagedStream<WsNext>>;

// Beast closes a WebSocket's transport through these (found by ADL): TLS gets its close_notify
// (Beast's ssl.hpp), a plain stream Beast's TCP teardown.
template <class Next>
void teardown(beast::role_type role, MaybeTlsStream<Next>& s, error_code& ec) {
  using websocket::teardown;
  if (s.is_tls())
    teardown(role, s.tls(), ec);
  else
    teardown(role, s.next_layer(), ec);
}
template <class Next, class TeardownHandler>
void async_teardown(beast::role_type role, MaybeTlsStream<Next>& s, TeardownHandler&& handler) {
  using websocket::async_teardown;
  if (s.is_tls())
    async_teardown(role, s.tls(), std::forward<TeardownHandler>(handler));
  else
    async_teardown(role, s.next_layer(), std::forward<TeardownHandler>(handler));
}

// The largest message either side may send through the proxy (a larger one fails its side with
// 1009, message too big). Messages are relayed as they arrive: this bounds no buffer.
inline constexpr std::uint64_t kWsMessageMax = 64ull << 20;
// One pump's read buffer.
inline constexpr std::size_t kWsReadSize = 64 * 1024;

// The options both of the proxy's WebSocket streams get: no permessage-deflate (clients fall back
// to plain frames), frames written as given (no re-fragmenting), `handshake` as the bound of the
// opening and closing handshakes, no idle timeout of Beast's (the relay keeps one for both
// sides), kWsMessageMax.
void configure_ws(WsStream& ws, Clock::duration handshake);

// What the message behaviors (ws_*) do to one message (already counted), and the fault slots
// held until it is relayed.
struct WsMessageAction {
  MessageFault fault;
  std::vector<FaultSlot> slots;
};

// The relay's view of the connection that owns it.
struct WsRelayContext {
  Proxy& proxy;
  const bool& closing;                     // the connection was closed (by the proxy)
  std::function<void(CloseReason)> close;  // closes both sockets with that reason
  std::chrono::milliseconds idle;          // no frame read on either side for this long: close
  // At each message's first fragment: what the message behaviors do to it (none when unset).
  // `index` counts the messages of that stream from 0.
  std::function<WsMessageAction(Stream stream, bool text, std::uint64_t index)> on_message;
  // ws_close, when drawn for this connection: after `after_messages` messages relayed in
  // `stream`'s direction or `after` from the start of the relay, the side `stream` goes to gets
  // a close frame with `code`/`reason` and the other 1001; `acted` is called then.
  struct Close {
    Stream stream = Stream::downstream;
    WsClose plan;
    std::function<void()> acted;
  };
  std::optional<Close> ws_close;
};

// Relays between `client` and `upstream` (both open) until the connection ends; returns why.
awaitable<CloseReason> relay_websocket(WsStream& client, WsStream& upstream, WsRelayContext& ctx);

}  // namespace faultline::proxy
