// See body_pipeline.hpp.
#include "proxy/body_pipeline.hpp"

#include <prometheus/counter.h>

namespace faultline::proxy {

BodyPipeline::BodyPipeline(const std::vector<const RequestFault*>& faults, Rng& rng,
                           Clock::time_point now, bool event_stream, prometheus::Counter* oversized)
    : oversized_(oversized) {
  for (const RequestFault* f : faults) {
    if (!f->body_fault) continue;
    if (f->body_fault->per_event()) {
      if (!event_stream) continue;
      if (auto stage = f->body_fault->make_event_stage(rng, f->event_probability))
        events_.push_back(Events{std::move(stage), f->counter});
    } else if (auto stage = f->body_fault->make(rng, now)) {
      stages_.push_back(std::move(stage));
    }
  }
  if (!events_.empty()) framer_.emplace();
}

std::vector<Piece> BodyPipeline::on_chunk(std::string_view bytes, Clock::time_point now,
                                          StreamEffects& fx, bool end) {
  std::vector<Piece> pieces;
  if (framer_) {
    std::vector<SsePiece> framed;
    const std::uint64_t oversized_before = framer_->oversized_events();
    framer_->feed(bytes, framed);
    if (end) framer_->finish(framed);
    if (oversized_ && framer_->oversized_events() > oversized_before)
      oversized_->Increment(static_cast<double>(framer_->oversized_events() - oversized_before));
    std::vector<EventPiece> events;
    events.reserve(framed.size());
    for (SsePiece& p : framed)
      events.push_back(EventPiece{now, std::move(p.bytes), p.event});
    for (Events& e : events_) {
      const std::uint64_t acted = e.stage->on_events(events, now, fx);
      if (acted > 0 && e.counter) e.counter->Increment(static_cast<double>(acted));
    }
    pieces.reserve(events.size());
    for (EventPiece& p : events)
      pieces.push_back(Piece{p.due, std::move(p.bytes)});
  } else if (!bytes.empty()) {
    pieces.push_back(Piece{now, std::string(bytes)});
  }
  for (auto& stage : stages_)
    stage->on_data(pieces, now, fx);
  return pieces;
}

}  // namespace faultline::proxy
