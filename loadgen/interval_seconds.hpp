// Which whole seconds of a run are written as --intervals-out lines, and when (the coordinator's
// bookkeeping, kept apart from it so that it can be tested with made-up time points).
//
// Every line covers exactly one second [s, s + 1) of the run (t = s + 1, "seconds": 1), and holds
// the requests *sent* in it (open model: by their intended send time), so a second is written
// only once it is over (plus kSendGrace) and none of its requests can still be recorded: none is
// in flight, and (open model) none waits in the backlog or to be released by the scheduler —
// however long that takes. There is no bound past which a line is written without them: its
// numbers would be wrong (the first version wrote a second's line 2 x timeout + 2 s after it
// ended and booked its later requests into the next line; a backlog that outlived an overload
// then made the recovery look instant). A backlog that never drains holds its seconds until the
// final flush, which writes every remaining second (the arrivals never sent are `unsent`).
// A stall of the generator itself (the process stopped, an overloaded machine) never makes a
// long line followed by short ones: each second of the stall gets its own line, possibly with
// nothing in it. Seconds that end at or after `hold_from` (the planned end of the run) are held
// for the final flush too.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>

namespace faultline::loadgen {

class IntervalSeconds {
 public:
  static constexpr double kSendGrace = 0.01;  // seconds
  explicit IntervalSeconds(double hold_from) : hold_from_(hold_from) {}

  // The seconds that ended by `elapsed` (seconds since the start) and were not closed before:
  // [first, end), empty when first == end. Closing is what a second's levels (in flight,
  // backlog) and schedule counters are sampled for.
  std::pair<std::int64_t, std::int64_t> close(double elapsed) {
    const std::int64_t first = closed_;
    const auto ended = static_cast<std::int64_t>(std::floor(std::max(0.0, elapsed) + 1e-9));
    closed_ = std::max(closed_, ended);
    return {first, closed_};
  }
  // The next second to write when it may be written now (non-final): it was closed, it is not
  // held, and `busy(s)` (a request of it may still be recorded) is false.
  template <class Busy>
  std::optional<std::int64_t> next_ready(double elapsed, Busy&& busy) const {
    const std::int64_t s = next_;
    if (s >= closed_) return std::nullopt;
    const auto end = static_cast<double>(s + 1);
    if (end >= hold_from_ - 1e-9) return std::nullopt;
    // A margin (busy() covers an arrival the scheduler releases late; this spares the scan).
    if (elapsed < end + kSendGrace) return std::nullopt;
    if (busy(s)) return std::nullopt;
    return s;
  }
  void written() { ++next_; }
  std::int64_t next() const noexcept { return next_; }
  std::int64_t closed() const noexcept { return closed_; }
  // Whether some closed second waits to be written.
  bool pending() const noexcept { return next_ < closed_; }

 private:
  double hold_from_;
  std::int64_t closed_ = 0;  // seconds [0, closed_) are over
  std::int64_t next_ = 0;    // the next second to write
};

}  // namespace faultline::loadgen
