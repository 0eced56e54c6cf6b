// `ws_delay_message` (protocol http, WebSocket relays): each message of the toxic's stream is held
// `delay` ms ± uniform `jitter` ms before it is relayed, drawn per message with the toxicity;
// later messages of that stream wait behind it, so order is kept. The HTTP match attributes apply
// to the upgrade request.
#include <fmt/format.h>

#include "proxy/behavior.hpp"
#include "proxy/behaviors/match.hpp"

namespace faultline::proxy {

namespace {

class WsDelayMessageConfig : public BehaviorConfig {
 public:
  WsDelayMessageConfig(std::int64_t delay, std::int64_t jitter, RequestMatch match)
      : delay_(delay), jitter_(jitter), match_(std::move(match)) {}
  json attributes() const override {
    json a{{"delay", delay_}, {"jitter", jitter_}};
    match_.add_to(a);
    return a;
  }
  bool matches(const RequestInfo& req) const override { return match_.matches(req); }
  std::optional<MessageFault> message_fault(Rng& rng, const MessageInfo&) const override {
    std::int64_t ms = delay_;
    if (jitter_ > 0)
      ms += static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(2 * jitter_ + 1))) -
            jitter_;
    MessageFault f;
    f.delay = millis(std::max<std::int64_t>(ms, 0));
    return f;
  }

 private:
  std::int64_t delay_;
  std::int64_t jitter_;
  RequestMatch match_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(
      attrs, path,
      {"delay", "jitter", "method", "path_prefix", "path_regex", "header_name", "header_value"},
      errors);
  if (!attrs.contains("delay")) errors.add(path_join(path, "delay"), "required (milliseconds)");
  const auto delay = attr_nonneg_int(attrs, path, "delay", 0, errors, kMaxDurationMs);
  const auto jitter = attr_nonneg_int(attrs, path, "jitter", 0, errors, kMaxDurationMs);
  return std::make_shared<WsDelayMessageConfig>(delay, jitter,
                                                parse_http_match(attrs, path, errors));
}

}  // namespace

void register_ws_delay_message(Registry& registry) {
  registry.add({.name = "ws_delay_message",
                .description = "hold WebSocket messages delay ms (± jitter), order kept",
                .parse = parse,
                .tcp = false,
                .redis = false});
}

}  // namespace faultline::proxy
