// Server-sent-event sessions of `faultline load` (internal to loadgen/): one iteration of an "sse"
// entry = one GET with Accept: text/event-stream on a fresh connection of `c` (and
// Last-Event-ID: the last event id seen, when the previous session of this user or connection
// ended early), read as events arrive (common/sse.hpp cuts the decoded body into events; nothing
// of it is kept). The time from the job's intended start to the first event is recorded under
// NAME.first_event (coordinated-omission corrected in the open model; a failed connect or a
// non-200 answer is its error), each gap between two events under NAME.event; the session is
// completed after `events` events (the connection is then closed). A body that ends first
// (its end, EOF, a reset, truncated chunked framing) or no event within --timeout ends the
// session early: the awaited event is recorded as `reset`, `read_timeout` or `bad_response`.
#pragma once

#include "loadgen/detail/engine_state.hpp"

namespace faultline::loadgen::detail {

// Runs one session of `entry` (which has an SsePlan) on `c`; records everything itself.
awaitable<void> run_sse_session(Conn* c, const Entry& entry, Job job);

}  // namespace faultline::loadgen::detail
