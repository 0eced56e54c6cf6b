// `http_body_rate` (protocol http): the body of a matching exchange is paced at `rate` KB/s
// (1 KB = 1000 bytes, Toxiproxy's unit; Envoy's response_rate_limit counts KiB/s), in pieces of
// at most 100 ms worth of bytes — the pacing of `bandwidth`, on a body instead of a TCP
// direction. Stream downstream (the default): the response body; upstream: the request body.
#include <fmt/format.h>

#include "proxy/behavior.hpp"
#include "proxy/behaviors/body_behavior.hpp"
#include "proxy/behaviors/pacing.hpp"

namespace faultline::proxy {

namespace {

constexpr std::int64_t kMaxRateKBps = 1'000'000'000;  // as bandwidth: 1 TB/s

class BodyRateSpec : public BodyFaultSpec {
 public:
  explicit BodyRateSpec(std::int64_t rate) : rate_(rate) {}
  std::unique_ptr<StreamStage> make(Rng&, Clock::time_point) const override {
    return std::make_unique<PacingStage>(rate_ * 1000);
  }

 private:
  std::int64_t rate_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_http_keys(attrs, path, {"rate"}, errors);
  std::int64_t rate = 1;
  if (auto v = get_integer(attrs, path, "rate", errors, true)) {
    if (*v < 1)
      errors.add(path_join(path, "rate"), fmt::format("must be >= 1, got {}", *v));
    else if (*v > kMaxRateKBps)
      errors.add(path_join(path, "rate"),
                 fmt::format("must be at most {}, got {}", kMaxRateKBps, *v));
    else
      rate = *v;
  }
  return std::make_shared<BodyBehaviorConfig>(std::make_shared<BodyRateSpec>(rate),
                                              json{{"rate", rate}},
                                              parse_http_match(attrs, path, errors));
}

}  // namespace

void register_http_body_rate(Registry& registry) {
  registry.add({.name = "http_body_rate",
                .description = "pace a body at rate KB/s (1 KB = 1000 bytes)",
                .parse = parse,
                .tcp = false,
                .redis = false});
}

}  // namespace faultline::proxy
