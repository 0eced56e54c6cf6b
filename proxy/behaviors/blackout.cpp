// `blackout` (Vaurien): closes the client connection at once. tcp: as soon as the connection is
// linked to the toxic (on accept, or when the toxic is added); http/redis: when a request arrives,
// without forwarding it.
#include "proxy/behavior.hpp"

namespace faultline::proxy {

namespace {

class BlackoutStage : public StreamStage {
 public:
  explicit BlackoutStage(Clock::time_point now) : at_(now) {}
  void on_data(std::vector<Piece>& pieces, Clock::time_point, StreamEffects&) override {
    pieces.clear();
  }
  std::optional<Clock::time_point> deadline() const override { return at_; }

 private:
  Clock::time_point at_;
};

class BlackoutConfig : public BehaviorConfig {
 public:
  json attributes() const override { return json::object(); }
  std::unique_ptr<StreamStage> make_stream_stage(Rng&, Clock::time_point now) const override {
    return std::make_unique<BlackoutStage>(now);
  }
  RequestFault request_fault(Rng&, Stream) const override {
    RequestFault f;
    f.kind = RequestFault::Kind::abort;
    return f;
  }
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(attrs, path, {}, errors);
  return std::make_shared<BlackoutConfig>();
}

}  // namespace

void register_blackout(Registry& registry) {
  registry.add({.name = "blackout", .description = "close the connection at once", .parse = parse});
}

}  // namespace faultline::proxy
