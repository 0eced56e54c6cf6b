// One keep-alive connection's work (internal to loadgen/): connect (and TLS handshake), the
// watchdog that enforces --timeout, and one HTTP/1.1 request/response exchange with its body
// readers. Every outcome is a value (Outcome), never an exception.
#pragma once

#include <optional>
#include <string>

#include "loadgen/detail/engine_state.hpp"
#include "loadgen/exchange.hpp"

namespace faultline::loadgen::detail {

// Cancels the connection's socket operations when its deadline passes (one per connection).
awaitable<void> watchdog_loop(Conn* c);
// Connects `c` (TCP, then TLS for https:// and wss://) unless it is open; the failure's outcome
// (connect_refused, connect_timeout, bad_response for a refused TLS handshake) or nullopt.
awaitable<std::optional<Outcome>> ensure_connected(Conn* c);
// One request/response on `c` (connecting first when needed); keeps head and body in `out` when
// given. `now` is the caller's current time.
awaitable<Outcome> exchange(Conn* c, const std::string* bytes, bool head_method, StepResult* out,
                            TimePoint now);
// Sends one request and records it under `name` (see exchange()), with the outcome of its
// response `checks` when given (the response is then kept too).
awaitable<StepResult> send_request(Conn* c, std::size_t name, const std::string* bytes,
                                   bool head_method, bool keep, TimePoint intended,
                                   const std::vector<CheckSpec>* checks = nullptr);

}  // namespace faultline::loadgen::detail
