// Server-sent events framing (text/event-stream, WHATWG HTML "Server-sent events" §9.2.5): cuts a
// decoded response body into whole events without parsing or changing a byte. Used by the proxy
// (sse_drop_event, sse_delay_event act on whole events) and by the load generator's SSE sessions.
//
// Lines end with CRLF, LF or CR (mixed freely); an event ends at the first empty line, and its
// piece carries the bytes up to and including that empty line's terminator. A CR that ends an
// empty line may be the first half of a CRLF, so an event ending in such a CR is given out only
// when the next byte is known (or at finish()): a stream that ends its events with lone CRs sees
// each event one byte (the next event's first) late. Comment-only events (": heart-beat\n\n") are
// events. Pieces are the same whatever the reads the body arrives in.
//
// Bound: at most `max_event` (kMaxSseEvent, 1 MiB) bytes are held. A longer event is given out as
// non-event pieces as it arrives (the held bytes when the bound is reached, then everything up to
// its end), and counted in oversized_events(). Blank lines between events and an unterminated
// tail at finish() are non-event pieces too. The concatenation of every piece is the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace faultline {

inline constexpr std::size_t kMaxSseEvent = std::size_t{1} << 20;

struct SsePiece {
  std::string bytes;
  // True for a whole event: at least one non-empty line, then an empty line, within the bound.
  // False for blank lines, pieces of an oversized event and an unterminated tail.
  bool event = false;
};

class SseFramer {
 public:
  explicit SseFramer(std::size_t max_event = kMaxSseEvent);

  // Appends to `out` the pieces that `data` completes; the rest is held (≤ max_event bytes).
  void feed(std::string_view data, std::vector<SsePiece>& out);
  // The body ended: appends what is held (an event whose last CR was pending, else a non-event
  // tail) and starts over.
  void finish(std::vector<SsePiece>& out);

  std::size_t held() const { return held_.size(); }
  std::uint64_t oversized_events() const { return oversized_events_; }

 private:
  void emit(std::vector<SsePiece>& out, bool event);
  void flush_oversized(std::vector<SsePiece>& out);

  std::size_t max_;
  std::string held_;
  bool line_start_ = true;   // nothing of the current line seen yet
  bool pending_cr_ = false;  // the last byte was a CR ending a line; an LF next belongs to it
  bool blank_cr_ = false;    // ... and that line was empty: the event ends after the optional LF
  bool nonblank_ = false;    // the held event has a non-empty line
  bool oversized_ = false;   // the current event passed the bound; its rest goes out as it comes
  std::uint64_t oversized_events_ = 0;
};

}  // namespace faultline
