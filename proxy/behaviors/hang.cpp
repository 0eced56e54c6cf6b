// `hang` (Vaurien): reads what the client sends and never answers. tcp: the direction's data is
// swallowed and the connection stays open; http/redis: the request is read and never answered
// (the connection is held until the client leaves or the idle timeout passes).
#include "proxy/behavior.hpp"

namespace faultline::proxy {

namespace {

class HangStage : public StreamStage {
 public:
  void on_data(std::vector<Piece>& pieces, Clock::time_point, StreamEffects&) override {
    pieces.clear();
  }
  bool holds_eof() const override { return true; }
};

class HangConfig : public BehaviorConfig {
 public:
  json attributes() const override { return json::object(); }
  std::unique_ptr<StreamStage> make_stream_stage(Rng&, Clock::time_point) const override {
    return std::make_unique<HangStage>();
  }
  RequestFault request_fault(Rng&, Stream) const override {
    RequestFault f;
    f.kind = RequestFault::Kind::hang;
    return f;
  }
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(attrs, path, {}, errors);
  return std::make_shared<HangConfig>();
}

}  // namespace

void register_hang(Registry& registry) {
  registry.add({.name = "hang", .description = "read, never answer", .parse = parse});
}

}  // namespace faultline::proxy
