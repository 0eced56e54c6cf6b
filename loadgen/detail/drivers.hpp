// The three load models' drivers (internal to loadgen/): the open model's scheduler and parked
// connections (coordinated-omission correction: latency counts from the intended send time), the
// closed model's virtual users with think time, the max model's back-to-back connections; and the
// iteration they all run (a request, a flow with captures, a generator, or a replayed request).
#pragma once

#include <cstdint>

#include "loadgen/detail/engine_state.hpp"

namespace faultline::loadgen::detail {

// Creates every worker's connections and spawns the drivers of the configured model on the
// workers' io_contexts (not yet running).
void spawn_drivers(Engine& e);
// Wakes the open model's parked connections and its scheduler so that they end (run on the
// worker's thread).
void release_idle(Worker* w);
// Stops every connection of every worker (posted to each worker's thread; waits for it) and
// returns how many arrivals were offered and never sent: still queued, or due and never released
// by a scheduler that lagged behind (each also counted per stage as `unsent`).
std::uint64_t stop_connections(Engine& e);

}  // namespace faultline::loadgen::detail
