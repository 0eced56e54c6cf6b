// `latency`: delays every chunk by `latency` ms ± a uniform `jitter` ms (Toxiproxy semantics:
// each chunk is held until its arrival time plus the delay, so throughput is kept). On HTTP/Redis
// proxies it delays the request (stream upstream) or the response (stream downstream).
#include "proxy/behavior.hpp"

#include <fmt/format.h>

namespace faultline::proxy {

namespace {

class LatencyConfig;

class LatencyStage : public StreamStage {
 public:
  LatencyStage(std::int64_t latency_ms, std::int64_t jitter_ms, Rng rng)
      : latency_ms_(latency_ms), jitter_ms_(jitter_ms), rng_(rng) {}
  void on_data(std::vector<Piece>& pieces, Clock::time_point /*now*/, StreamEffects& fx) override {
    const Clock::duration d = jittered_delay(latency_ms_, jitter_ms_, rng_);
    for (auto& p : pieces)
      p.due = saturating_add(p.due, d);
    fx.added_delay += d;
  }

 private:
  std::int64_t latency_ms_, jitter_ms_;
  Rng rng_;
};

class LatencyConfig : public BehaviorConfig {
 public:
  LatencyConfig(std::int64_t latency, std::int64_t jitter) : latency_(latency), jitter_(jitter) {}
  json attributes() const override { return {{"latency", latency_}, {"jitter", jitter_}}; }
  // HTTP proxies: acts on upgraded (WebSocket) connections, as on a tcp connection.
  std::unique_ptr<StreamStage> make_upgraded_stage(Rng& rng, Clock::time_point now) const override {
    return make_stream_stage(rng, now);
  }
  std::unique_ptr<StreamStage> make_stream_stage(Rng& rng, Clock::time_point) const override {
    return std::make_unique<LatencyStage>(latency_, jitter_, Rng(rng.next()));
  }
  RequestFault request_fault(Rng& rng, Stream stream) const override {
    RequestFault f;
    f.kind = RequestFault::Kind::delay;
    f.after_response = stream == Stream::downstream;
    f.delay = jittered_delay(latency_, jitter_, rng);
    return f;
  }

 private:
  std::int64_t latency_, jitter_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(attrs, path, {"latency", "jitter"}, errors);
  const auto latency = attr_nonneg_int(attrs, path, "latency", 0, errors, kMaxDurationMs);
  const auto jitter = attr_nonneg_int(attrs, path, "jitter", 0, errors, kMaxDurationMs);
  return std::make_shared<LatencyConfig>(latency, jitter);
}

}  // namespace

void register_latency(Registry& registry) {
  registry.add({.name = "latency",
                .description = "delay each chunk (or request) by latency ms +/- jitter ms",
                .parse = parse,
                .toxiproxy = ToxiproxyAttributes{
                    .known = {"latency", "jitter"},
                    .negative_as_zero = {"latency", "jitter"},
                    .at_most = {{"latency", kMaxDurationMs}, {"jitter", kMaxDurationMs}}}});
}

}  // namespace faultline::proxy
