// `timeout`: stops all data in the direction (dropped) and closes the connection `timeout` ms after
// the toxic became active on it; timeout 0 drops data forever without closing (a black hole).
// Removing the toxic lets data flow again on connections that are still open.
#include "proxy/behavior.hpp"

namespace faultline::proxy {

namespace {

class TimeoutStage : public StreamStage {
 public:
  TimeoutStage(std::int64_t timeout_ms, Clock::time_point start)
      : deadline_(timeout_ms > 0
                      ? std::optional<Clock::time_point>(saturating_add(start, millis(timeout_ms)))
                      : std::nullopt) {}
  void on_data(std::vector<Piece>& pieces, Clock::time_point, StreamEffects&) override {
    pieces.clear();
  }
  bool holds_eof() const override { return true; }
  std::optional<Clock::time_point> deadline() const override { return deadline_; }

 private:
  std::optional<Clock::time_point> deadline_;
};

class TimeoutConfig : public BehaviorConfig {
 public:
  explicit TimeoutConfig(std::int64_t timeout) : timeout_(timeout) {}
  json attributes() const override { return {{"timeout", timeout_}}; }
  // HTTP proxies: acts on upgraded (WebSocket) connections, as on a tcp connection.
  std::unique_ptr<StreamStage> make_upgraded_stage(Rng& rng, Clock::time_point now) const override {
    return make_stream_stage(rng, now);
  }
  std::unique_ptr<StreamStage> make_stream_stage(Rng&, Clock::time_point now) const override {
    return std::make_unique<TimeoutStage>(timeout_, now);
  }

 private:
  std::int64_t timeout_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(attrs, path, {"timeout"}, errors);
  return std::make_shared<TimeoutConfig>(
      attr_nonneg_int(attrs, path, "timeout", 0, errors, kMaxDurationMs));
}

}  // namespace

void register_timeout(Registry& registry) {
  registry.add({.name = "timeout",
                .description = "drop data; close after timeout ms (0 = never, a black hole)",
                .parse = parse,
                .redis = false,
                .toxiproxy = ToxiproxyAttributes{.known = {"timeout"},
                                                 .negative_as_zero = {"timeout"},
                                                 .at_most = {{"timeout", kMaxDurationMs}}}});
}

}  // namespace faultline::proxy
