// The body faults of one HTTP exchange and direction (http_body_delay, http_body_truncate,
// http_body_rate, sse_drop_event, sse_delay_event), as one pipeline: each decoded chunk of the
// body becomes a piece, which the faults' stages reshape in toxic order (delay, split, cut)
// exactly as the stages of a TCP connection reshape its chunks. relay_body (http_body.hpp) writes
// the pieces when they are due, one chunk at a time, so a slowed body also slows the reading of
// it.
//
// SSE: when the response is text/event-stream and an sse_* fault is active, the chunks first go
// through an SseFramer (common/sse.hpp), which gives out whole events (holding at most 1 MiB of
// an unfinished one); the sse_* stages act on those events, each drawn on its own, before the
// other body faults see the bytes, whatever the toxic order. Events over 1 MiB pass untouched
// (counted in faultline_proxy_sse_oversized_events_total). sse_* faults on any other body (a
// request's, a response of another type) do nothing.
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "common/sse.hpp"
#include "proxy/behavior.hpp"

namespace faultline::proxy {

class BodyPipeline {
 public:
  BodyPipeline() = default;
  // The stages of `faults` (Kind::body), made now with draws from `rng`. `event_stream`: the body
  // is a text/event-stream response (the sse_* faults act); `oversized` counts the events too
  // long for them.
  BodyPipeline(const std::vector<const RequestFault*>& faults, Rng& rng, Clock::time_point now,
               bool event_stream = false, prometheus::Counter* oversized = nullptr);
  bool empty() const noexcept { return stages_.empty() && events_.empty(); }
  // The pieces of `bytes`, read at `now`, after every stage; `fx` collects what they ask for.
  // `end`: the body ends after `bytes` (an event held unfinished goes out).
  std::vector<Piece> on_chunk(std::string_view bytes, Clock::time_point now, StreamEffects& fx,
                              bool end = false);

 private:
  struct Events {
    std::unique_ptr<EventStage> stage;
    prometheus::Counter* counter;  // faults_injected_total{kind}, per acted event
  };
  std::vector<std::unique_ptr<StreamStage>> stages_;
  std::vector<Events> events_;
  std::optional<SseFramer> framer_;
  prometheus::Counter* oversized_ = nullptr;
};

}  // namespace faultline::proxy
