// `slow_close`: when the source closes its side, wait `delay` ms before passing the close on.
#include "proxy/behavior.hpp"

namespace faultline::proxy {

namespace {

class SlowCloseStage : public StreamStage {
 public:
  explicit SlowCloseStage(std::int64_t delay_ms) : delay_(millis(delay_ms)) {}
  void on_data(std::vector<Piece>&, Clock::time_point, StreamEffects&) override {}
  Clock::duration on_eof() override { return delay_; }

 private:
  Clock::duration delay_;
};

class SlowCloseConfig : public BehaviorConfig {
 public:
  explicit SlowCloseConfig(std::int64_t delay) : delay_(delay) {}
  json attributes() const override { return {{"delay", delay_}}; }
  // HTTP proxies: acts on upgraded (WebSocket) connections, as on a tcp connection.
  std::unique_ptr<StreamStage> make_upgraded_stage(Rng& rng, Clock::time_point now) const override {
    return make_stream_stage(rng, now);
  }
  std::unique_ptr<StreamStage> make_stream_stage(Rng&, Clock::time_point) const override {
    return std::make_unique<SlowCloseStage>(delay_);
  }

 private:
  std::int64_t delay_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(attrs, path, {"delay"}, errors);
  return std::make_shared<SlowCloseConfig>(
      attr_nonneg_int(attrs, path, "delay", 0, errors, kMaxDurationMs));
}

}  // namespace

void register_slow_close(Registry& registry) {
  registry.add({.name = "slow_close",
                .description = "delay passing on a close by delay ms",
                .parse = parse,
                .redis = false,
                .toxiproxy = ToxiproxyAttributes{.known = {"delay"},
                                                 .negative_as_zero = {"delay"},
                                                 .at_most = {{"delay", kMaxDurationMs}}}});
}

}  // namespace faultline::proxy
