// `reset_peer`: the first chunk that arrives in the direction (and everything after it) is dropped,
// and `timeout` ms later both sides of the connection are closed with a TCP RST (SO_LINGER 0), as
// Toxiproxy does.
#include "proxy/behavior.hpp"

namespace faultline::proxy {

namespace {

class ResetPeerStage : public StreamStage {
 public:
  explicit ResetPeerStage(std::int64_t timeout_ms) : timeout_(millis(timeout_ms)) {}
  void on_data(std::vector<Piece>& pieces, Clock::time_point now, StreamEffects& fx) override {
    pieces.clear();
    if (!armed_) {
      armed_ = true;
      fx.reset_at = now + timeout_;
    }
  }

 private:
  Clock::duration timeout_;
  bool armed_ = false;
};

class ResetPeerConfig : public BehaviorConfig {
 public:
  explicit ResetPeerConfig(std::int64_t timeout) : timeout_(timeout) {}
  json attributes() const override { return {{"timeout", timeout_}}; }
  // HTTP proxies: acts on upgraded (WebSocket) connections, as on a tcp connection.
  std::unique_ptr<StreamStage> make_upgraded_stage(Rng& rng, Clock::time_point now) const override {
    return make_stream_stage(rng, now);
  }
  std::unique_ptr<StreamStage> make_stream_stage(Rng&, Clock::time_point) const override {
    return std::make_unique<ResetPeerStage>(timeout_);
  }

 private:
  std::int64_t timeout_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(attrs, path, {"timeout"}, errors);
  return std::make_shared<ResetPeerConfig>(
      attr_nonneg_int(attrs, path, "timeout", 0, errors, kMaxDurationMs));
}

}  // namespace

void register_reset_peer(Registry& registry) {
  registry.add({.name = "reset_peer",
                .description = "on data, wait timeout ms then reset the connection (TCP RST)",
                .parse = parse,
                .redis = false,
                .toxiproxy = ToxiproxyAttributes{.known = {"timeout"},
                                                 .negative_as_zero = {"timeout"},
                                                 .at_most = {{"timeout", kMaxDurationMs}}}});
}

}  // namespace faultline::proxy
