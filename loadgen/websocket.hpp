// WebSocket sessions of `faultline load` (internal to loadgen/): one iteration of a "websocket"
// entry = one session on a fresh connection of `c` (TCP, TLS for wss://), Boost.Beast's client
// over the connection's socket. The handshake is recorded under NAME.connect (from the job's
// intended time: coordinated-omission corrected in the open model); then `messages` messages go
// out `interval` apart from the moment the session opened (each message's latency counts from its
// own intended time, so a slow reply delays no later measurement), each awaiting its reply within
// --timeout (RTT under NAME.message); then a close 1000. One reader runs beside the sender for
// the whole session, so a close frame, EOF or reset between two messages ends the session at once
// without failing a message; one that arrives while a message awaits its reply gives that message
// `closed` (a close frame), `reset` (EOF, reset) or `bad_response` (a malformed frame, invalid
// UTF-8 in a text message: Beast answers 1007). The session counts opened, then completed or
// ended_early (SessionCounts), and the server's close code when it started the close.
#pragma once

#include "loadgen/detail/engine_state.hpp"

namespace faultline::loadgen::detail {

// Runs one session of `entry` (which has a WsPlan) on `c`; records everything itself. `c` is
// closed afterwards (a WebSocket takes its connection over).
awaitable<void> run_ws_session(Conn* c, const Entry& entry, Job job);

}  // namespace faultline::loadgen::detail
