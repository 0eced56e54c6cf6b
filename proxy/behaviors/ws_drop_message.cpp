// `ws_drop_message` (protocol http, WebSocket relays): each message of the toxic's stream
// (downstream: to the client, the default; upstream: from it) is dropped — not relayed — with the
// toxic's toxicity, drawn per message (scope request, the default) or once per connection.
// `message`: which messages it may drop, "text", "binary" or "any" (the default). The HTTP match
// attributes apply to the upgrade request.
#include <fmt/format.h>

#include "proxy/behavior.hpp"
#include "proxy/behaviors/match.hpp"

namespace faultline::proxy {

namespace {

enum class Which { any, text, binary };

class WsDropMessageConfig : public BehaviorConfig {
 public:
  WsDropMessageConfig(Which which, RequestMatch match) : which_(which), match_(std::move(match)) {}
  json attributes() const override {
    json a{{"message", which_ == Which::any ? "any" : which_ == Which::text ? "text" : "binary"}};
    match_.add_to(a);
    return a;
  }
  bool matches(const RequestInfo& req) const override { return match_.matches(req); }
  std::optional<MessageFault> message_fault(Rng&, const MessageInfo& m) const override {
    if ((which_ == Which::text && !m.text) || (which_ == Which::binary && m.text))
      return std::nullopt;
    MessageFault f;
    f.drop = true;
    return f;
  }

 private:
  Which which_;
  RequestMatch match_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(
      attrs, path,
      {"message", "method", "path_prefix", "path_regex", "header_name", "header_value"}, errors);
  Which which = Which::any;
  if (auto m = get_string(attrs, path, "message", errors)) {
    if (*m == "text")
      which = Which::text;
    else if (*m == "binary")
      which = Which::binary;
    else if (*m != "any")
      errors.add(path_join(path, "message"),
                 fmt::format("must be \"text\", \"binary\" or \"any\", got \"{}\"", *m));
  }
  return std::make_shared<WsDropMessageConfig>(which, parse_http_match(attrs, path, errors));
}

}  // namespace

void register_ws_drop_message(Registry& registry) {
  registry.add({.name = "ws_drop_message",
                .description = "drop WebSocket messages (per message, with the toxicity)",
                .parse = parse,
                .tcp = false,
                .redis = false});
}

}  // namespace faultline::proxy
