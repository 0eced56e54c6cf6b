// `redis_delay` (protocol redis): delays the reply to matching commands by `delay` ms. Replies are
// delivered in order, so a delayed reply also holds back the pipelined replies after it.
#include "proxy/behavior.hpp"

#include "proxy/behaviors/match.hpp"

namespace faultline::proxy {

namespace {

class RedisDelayConfig : public BehaviorConfig {
 public:
  RedisDelayConfig(std::int64_t delay, RequestMatch match)
      : delay_(delay), match_(std::move(match)) {}
  json attributes() const override {
    json a{{"delay", delay_}};
    match_.add_to(a);
    return a;
  }
  bool matches(const RequestInfo& req) const override { return match_.matches(req); }
  RequestFault request_fault(Rng&, Stream) const override {
    RequestFault f;
    f.kind = RequestFault::Kind::delay;
    f.delay = millis(delay_);
    f.after_response = true;
    return f;
  }

 private:
  std::int64_t delay_;
  RequestMatch match_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(attrs, path, {"delay", "command"}, errors);
  const auto delay = attr_nonneg_int(attrs, path, "delay", 0, errors, kMaxDurationMs);
  return std::make_shared<RedisDelayConfig>(delay, parse_redis_match(attrs, path, errors));
}

}  // namespace

void register_redis_delay(Registry& registry) {
  registry.add({.name = "redis_delay",
                .description = "delay the reply to matching commands by delay ms",
                .parse = parse,
                .tcp = false,
                .http = false});
}

}  // namespace faultline::proxy
