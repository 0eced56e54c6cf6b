// `http_body_delay` (protocol http): the body of a matching exchange is written piece by piece,
// each piece `delay` ms ± a uniform `jitter` ms after the one before it (or after its arrival,
// whichever is later): a slow server, whose throughput drops. The pieces are the chunks as the
// proxy reads them (`per_bytes` 0) or the body cut into `per_bytes`-byte pieces. Stream
// downstream (the default): the response body; upstream: the request body. The head is not
// delayed (http_delay does that).
#include <fmt/format.h>

#include <algorithm>

#include "proxy/behavior.hpp"
#include "proxy/behaviors/body_behavior.hpp"

namespace faultline::proxy {

namespace {

constexpr std::int64_t kMaxPerBytes = std::int64_t{1} << 30;

class BodyDelayStage : public StreamStage {
 public:
  BodyDelayStage(std::int64_t delay_ms, std::int64_t jitter_ms, std::int64_t per_bytes, Rng rng)
      : delay_ms_(delay_ms), jitter_ms_(jitter_ms), per_bytes_(per_bytes), rng_(rng) {}
  void on_data(std::vector<Piece>& pieces, Clock::time_point /*now*/, StreamEffects& fx) override {
    std::vector<Piece> out;
    for (auto& p : pieces) {
      const std::size_t size = per_bytes_ > 0 ? static_cast<std::size_t>(per_bytes_)
                                              : std::max<std::size_t>(1, p.bytes.size());
      for (std::size_t off = 0; off < p.bytes.size(); off += size) {
        const Clock::duration d = jittered_delay(delay_ms_, jitter_ms_, rng_);
        // Sequential: a piece waits its delay after the one before it was due.
        free_ = saturating_add(std::max(p.due, free_), d);
        fx.added_delay += d;
        out.push_back(Piece{free_, p.bytes.substr(off, size)});
      }
    }
    pieces = std::move(out);
  }

 private:
  std::int64_t delay_ms_, jitter_ms_, per_bytes_;
  Rng rng_;
  Clock::time_point free_{};  // when the last piece is due
};

class BodyDelaySpec : public BodyFaultSpec {
 public:
  BodyDelaySpec(std::int64_t delay, std::int64_t jitter, std::int64_t per_bytes)
      : delay_(delay), jitter_(jitter), per_bytes_(per_bytes) {}
  std::unique_ptr<StreamStage> make(Rng& rng, Clock::time_point) const override {
    return std::make_unique<BodyDelayStage>(delay_, jitter_, per_bytes_, Rng(rng.next()));
  }

 private:
  std::int64_t delay_, jitter_, per_bytes_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_http_keys(attrs, path, {"delay", "jitter", "per_bytes"}, errors);
  const auto delay = attr_nonneg_int(attrs, path, "delay", 0, errors, kMaxDurationMs);
  const auto jitter = attr_nonneg_int(attrs, path, "jitter", 0, errors, kMaxDurationMs);
  const auto per_bytes = attr_nonneg_int(attrs, path, "per_bytes", 0, errors, kMaxPerBytes);
  return std::make_shared<BodyBehaviorConfig>(
      std::make_shared<BodyDelaySpec>(delay, jitter, per_bytes),
      json{{"delay", delay}, {"jitter", jitter}, {"per_bytes", per_bytes}},
      parse_http_match(attrs, path, errors));
}

}  // namespace

void register_http_body_delay(Registry& registry) {
  registry.add({.name = "http_body_delay",
                .description = "write each piece of a body (a read, or per_bytes bytes) delay ms "
                               "+/- jitter ms after the one before",
                .parse = parse,
                .tcp = false,
                .redis = false});
}

}  // namespace faultline::proxy
