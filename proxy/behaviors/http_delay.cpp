// `http_delay` (protocol http): delays matching requests by `delay` ms, before forwarding them
// (`when`: "request", the default) or before returning the response (`when`: "response").
#include "proxy/behavior.hpp"

#include <fmt/format.h>

#include "proxy/behaviors/match.hpp"

namespace faultline::proxy {

namespace {

class HttpDelayConfig : public BehaviorConfig {
 public:
  HttpDelayConfig(std::int64_t delay, bool after, RequestMatch match)
      : delay_(delay), after_(after), match_(std::move(match)) {}
  json attributes() const override {
    json a{{"delay", delay_}, {"when", after_ ? "response" : "request"}};
    match_.add_to(a);
    return a;
  }
  bool matches(const RequestInfo& req) const override { return match_.matches(req); }
  RequestFault request_fault(Rng&, Stream) const override {
    RequestFault f;
    f.kind = RequestFault::Kind::delay;
    f.delay = millis(delay_);
    f.after_response = after_;
    return f;
  }

 private:
  std::int64_t delay_;
  bool after_;
  RequestMatch match_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(
      attrs, path,
      {"delay", "when", "method", "path_prefix", "path_regex", "header_name", "header_value"},
      errors);
  const auto delay = attr_nonneg_int(attrs, path, "delay", 0, errors, kMaxDurationMs);
  bool after = false;
  if (auto w = get_string(attrs, path, "when", errors)) {
    if (*w == "response")
      after = true;
    else if (*w != "request")
      errors.add(path_join(path, "when"),
                 fmt::format("must be \"request\" or \"response\", got \"{}\"", *w));
  }
  return std::make_shared<HttpDelayConfig>(delay, after, parse_http_match(attrs, path, errors));
}

}  // namespace

void register_http_delay(Registry& registry) {
  registry.add({.name = "http_delay",
                .description = "delay matching requests (or their responses) by delay ms",
                .parse = parse,
                .tcp = false,
                .redis = false});
}

}  // namespace faultline::proxy
