// `bandwidth`: limits a direction to `rate` KB/s (1 KB = 1000 bytes, as Toxiproxy). Chunks are cut
// into pieces of at most 100 ms worth of bytes so the flow is smooth; rate 0 means unlimited.
#include "proxy/behavior.hpp"
#include "proxy/behaviors/pacing.hpp"

namespace faultline::proxy {

namespace {

// 1 TB/s: far above any link, and rate * 1000 bytes and n * 10^9 / rate stay far from overflow.
constexpr std::int64_t kMaxRateKBps = 1'000'000'000;

class BandwidthConfig : public BehaviorConfig {
 public:
  explicit BandwidthConfig(std::int64_t rate) : rate_(rate) {}
  json attributes() const override { return {{"rate", rate_}}; }
  // HTTP proxies: acts on upgraded (WebSocket) connections, as on a tcp connection.
  std::unique_ptr<StreamStage> make_upgraded_stage(Rng& rng, Clock::time_point now) const override {
    return make_stream_stage(rng, now);
  }
  std::unique_ptr<StreamStage> make_stream_stage(Rng&, Clock::time_point) const override {
    return std::make_unique<PacingStage>(rate_ * 1000);
  }

 private:
  std::int64_t rate_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(attrs, path, {"rate"}, errors);
  return std::make_shared<BandwidthConfig>(
      attr_nonneg_int(attrs, path, "rate", 0, errors, kMaxRateKBps));
}

}  // namespace

void register_bandwidth(Registry& registry) {
  registry.add(
      {.name = "bandwidth",
       .description = "limit the direction to rate KB/s (0 = unlimited)",
       .parse = parse,
       .redis = false,
       .toxiproxy = ToxiproxyAttributes{
           .known = {"rate"}, .negative_as_zero = {"rate"}, .at_most = {{"rate", kMaxRateKBps}}}});
}

}  // namespace faultline::proxy
