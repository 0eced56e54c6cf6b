// `ws_close` (protocol http, WebSocket relays): the proxy closes a relayed WebSocket after
// `after_messages` messages of the toxic's stream and/or `after` ms from the upgrade (whichever
// comes first; at least one is required), drawn once per connection at the upgrade. Stream
// downstream (the default): the client gets a close frame with `code` (1001) and `reason` (""),
// as from the server, and the upstream 1001 (going away); upstream: the reverse. Codes: 1000-1003,
// 1007-1014, 3000-4999 (the ones an endpoint may send, RFC 6455 7.4); the reason at most 123
// bytes. The HTTP match attributes apply to the upgrade request.
#include <fmt/format.h>

#include "proxy/behavior.hpp"
#include "proxy/behaviors/match.hpp"

namespace faultline::proxy {

namespace {

class WsCloseConfig : public BehaviorConfig {
 public:
  WsCloseConfig(WsClose plan, std::optional<std::int64_t> after_ms, RequestMatch match)
      : plan_(std::move(plan)), after_ms_(after_ms), match_(std::move(match)) {}
  json attributes() const override {
    json a{{"code", plan_.code}, {"reason", plan_.reason}};
    if (plan_.after_messages) a["after_messages"] = *plan_.after_messages;
    if (after_ms_) a["after"] = *after_ms_;
    match_.add_to(a);
    return a;
  }
  bool matches(const RequestInfo& req) const override { return match_.matches(req); }
  std::optional<WsClose> ws_close() const override { return plan_; }

 private:
  WsClose plan_;
  std::optional<std::int64_t> after_ms_;
  RequestMatch match_;
};

bool sendable_code(std::int64_t c) {
  return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(attrs, path,
                      {"code", "reason", "after_messages", "after", "method", "path_prefix",
                       "path_regex", "header_name", "header_value"},
                      errors);
  WsClose plan;
  if (auto code = get_integer(attrs, path, "code", errors)) {
    if (!sendable_code(*code))
      errors.add(path_join(path, "code"),
                 fmt::format("must be a close code an endpoint may send (1000-1003, 1007-1014, "
                             "3000-4999), got {}",
                             *code));
    else
      plan.code = static_cast<std::uint16_t>(*code);
  }
  if (auto reason = get_string(attrs, path, "reason", errors)) {
    if (reason->size() > 123)
      errors.add(
          path_join(path, "reason"),
          fmt::format("at most 123 bytes (a close frame's payload), got {}", reason->size()));
    else
      plan.reason = *reason;
  }
  std::optional<std::int64_t> after_ms;
  if (attrs.contains("after_messages")) {
    const auto n = attr_nonneg_int(attrs, path, "after_messages", 1, errors);
    if (n < 1)
      errors.add(path_join(path, "after_messages"), "must be >= 1");
    else
      plan.after_messages = static_cast<std::uint64_t>(n);
  }
  if (attrs.contains("after")) {
    after_ms = attr_nonneg_int(attrs, path, "after", 0, errors, kMaxDurationMs);
    plan.after = millis(*after_ms);
  }
  if (!attrs.contains("after_messages") && !attrs.contains("after"))
    errors.add(path, "ws_close needs after_messages or after (or both)");
  return std::make_shared<WsCloseConfig>(std::move(plan), after_ms,
                                         parse_http_match(attrs, path, errors));
}

}  // namespace

void register_ws_close(Registry& registry) {
  registry.add({.name = "ws_close",
                .description = "close relayed WebSockets with a code after N messages or ms",
                .parse = parse,
                .tcp = false,
                .redis = false});
}

}  // namespace faultline::proxy
