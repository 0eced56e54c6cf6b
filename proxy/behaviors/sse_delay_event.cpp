// `sse_delay_event` (protocol http, stream downstream): each server-sent event of a matching
// text/event-stream response is, with the toxic's toxicity drawn per event, held `delay` ms ± a
// uniform `jitter` ms after it arrived. Order is kept: an event (delayed or not) never overtakes
// the one before it, so a held event holds the ones behind it until it is out. Each delayed event
// counts as one injected fault. Any other response is left alone.
#include <algorithm>

#include "proxy/behavior.hpp"
#include "proxy/behaviors/body_behavior.hpp"

namespace faultline::proxy {

namespace {

class DelayEventStage : public EventStage {
 public:
  DelayEventStage(std::int64_t delay_ms, std::int64_t jitter_ms, Rng rng, Probability p)
      : delay_ms_(delay_ms), jitter_ms_(jitter_ms), rng_(rng), p_(p) {}
  std::uint64_t on_events(std::vector<EventPiece>& pieces, Clock::time_point /*now*/,
                          StreamEffects& fx) override {
    std::uint64_t delayed = 0;
    for (EventPiece& piece : pieces) {
      Clock::time_point due = piece.due;
      if (piece.event && p_.hit(rng_)) {
        const Clock::duration d = jittered_delay(delay_ms_, jitter_ms_, rng_);
        due = saturating_add(due, d);
        fx.added_delay += d;
        ++delayed;
      }
      last_ = std::max(last_, due);  // order kept
      piece.due = last_;
    }
    return delayed;
  }

 private:
  std::int64_t delay_ms_, jitter_ms_;
  Rng rng_;
  Probability p_;
  Clock::time_point last_{};  // when the last piece is due
};

class DelayEventSpec : public BodyFaultSpec {
 public:
  DelayEventSpec(std::int64_t delay, std::int64_t jitter) : delay_(delay), jitter_(jitter) {}
  std::unique_ptr<StreamStage> make(Rng&, Clock::time_point) const override { return nullptr; }
  bool per_event() const override { return true; }
  std::unique_ptr<EventStage> make_event_stage(Rng& rng, Probability p) const override {
    return std::make_unique<DelayEventStage>(delay_, jitter_, Rng(rng.next()), p);
  }

 private:
  std::int64_t delay_, jitter_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_http_keys(attrs, path, {"delay", "jitter"}, errors);
  if (attrs.is_object() && !attrs.contains("delay"))
    errors.add(path_join(path, "delay"), "required field is missing");
  const auto delay = attr_nonneg_int(attrs, path, "delay", 0, errors, kMaxDurationMs);
  const auto jitter = attr_nonneg_int(attrs, path, "jitter", 0, errors, kMaxDurationMs);
  return std::make_shared<BodyBehaviorConfig>(std::make_shared<DelayEventSpec>(delay, jitter),
                                              json{{"delay", delay}, {"jitter", jitter}},
                                              parse_http_match(attrs, path, errors));
}

}  // namespace

void register_sse_delay_event(Registry& registry) {
  registry.add({.name = "sse_delay_event",
                .description = "hold each server-sent event of a text/event-stream response "
                               "delay ms +/- jitter ms (drawn per event; order kept)",
                .parse = parse,
                .tcp = false,
                .redis = false,
                .downstream_only = "sse_delay_event acts on responses (stream downstream)"});
}

}  // namespace faultline::proxy
