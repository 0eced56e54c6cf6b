// `redis_delay` (protocol redis): delays the reply to matching commands by `delay` ms. Replies are
// delivered in order. `mode` "server" (default): the reply stream is held, so a delayed reply also
// holds back the pipelined replies after it (a slow server: 50 pipelined PINGs at 100 ms take
// 5 s). "network": each reply is delivered `delay` after it arrived from the upstream (latency on
// the wire: the same 50 PINGs take ~0.1 s), still in order.
#include "proxy/behavior.hpp"

#include <fmt/format.h>

#include "proxy/behaviors/match.hpp"

namespace faultline::proxy {

namespace {

class RedisDelayConfig : public BehaviorConfig {
 public:
  RedisDelayConfig(std::int64_t delay, bool network, RequestMatch match)
      : delay_(delay), network_(network), match_(std::move(match)) {}
  json attributes() const override {
    json a{{"delay", delay_}, {"mode", network_ ? "network" : "server"}};
    match_.add_to(a);
    return a;
  }
  bool matches(const RequestInfo& req) const override { return match_.matches(req); }
  RequestFault request_fault(Rng&, Stream) const override {
    RequestFault f;
    f.kind = RequestFault::Kind::delay;
    f.delay = millis(delay_);
    f.after_response = true;
    f.from_arrival = network_;
    return f;
  }

 private:
  std::int64_t delay_;
  bool network_;
  RequestMatch match_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(attrs, path, {"delay", "mode", "command"}, errors);
  const auto delay = attr_nonneg_int(attrs, path, "delay", 0, errors, kMaxDurationMs);
  bool network = false;
  if (auto m = get_string(attrs, path, "mode", errors)) {
    if (*m == "network")
      network = true;
    else if (*m != "server")
      errors.add(path_join(path, "mode"),
                 fmt::format("must be \"server\" or \"network\", got \"{}\"", *m));
  }
  return std::make_shared<RedisDelayConfig>(delay, network, parse_redis_match(attrs, path, errors));
}

}  // namespace

void register_redis_delay(Registry& registry) {
  registry.add({.name = "redis_delay",
                .description = "delay the reply to matching commands by delay ms (mode server: "
                               "later replies wait too; network: each from its arrival)",
                .parse = parse,
                .tcp = false,
                .http = false});
}

}  // namespace faultline::proxy
