// `sse_drop_event` (protocol http, stream downstream): each server-sent event of a matching
// text/event-stream response is dropped with the toxic's toxicity, drawn per event (scope
// request; scope connection: the connection's draw, then every event). The event's bytes never
// reach the client; the ones around it pass unchanged. Each dropped event counts as one injected
// fault. Any other response is left alone.
#include "proxy/behavior.hpp"
#include "proxy/behaviors/body_behavior.hpp"

namespace faultline::proxy {

namespace {

class DropEventStage : public EventStage {
 public:
  DropEventStage(Rng rng, Probability p) : rng_(rng), p_(p) {}
  std::uint64_t on_events(std::vector<EventPiece>& pieces, Clock::time_point /*now*/,
                          StreamEffects& /*fx*/) override {
    std::uint64_t dropped = 0;
    std::erase_if(pieces, [&](const EventPiece& piece) {
      const bool drop = piece.event && p_.hit(rng_);
      dropped += drop ? 1 : 0;
      return drop;
    });
    return dropped;
  }

 private:
  Rng rng_;
  Probability p_;
};

class DropEventSpec : public BodyFaultSpec {
 public:
  std::unique_ptr<StreamStage> make(Rng&, Clock::time_point) const override { return nullptr; }
  bool per_event() const override { return true; }
  std::unique_ptr<EventStage> make_event_stage(Rng& rng, Probability p) const override {
    return std::make_unique<DropEventStage>(Rng(rng.next()), p);
  }
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_http_keys(attrs, path, {}, errors);
  return std::make_shared<BodyBehaviorConfig>(std::make_shared<DropEventSpec>(), json::object(),
                                              parse_http_match(attrs, path, errors));
}

}  // namespace

void register_sse_drop_event(Registry& registry) {
  registry.add({.name = "sse_drop_event",
                .description = "drop each server-sent event of a text/event-stream response with "
                               "the toxicity (drawn per event)",
                .parse = parse,
                .tcp = false,
                .redis = false,
                .downstream_only = "sse_drop_event acts on responses (stream downstream)"});
}

}  // namespace faultline::proxy
