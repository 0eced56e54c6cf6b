// `ws_corrupt` (protocol http, WebSocket relays): the first payload byte of a text message of the
// toxic's stream is replaced with 0xFF (an empty message gets one 0xFF byte), drawn per message
// with the toxicity: 0xFF is never valid UTF-8, so a conformant reader fails the connection with
// close code 1007. Binary messages pass untouched. The HTTP match attributes apply to the upgrade
// request.
#include "proxy/behavior.hpp"
#include "proxy/behaviors/match.hpp"

namespace faultline::proxy {

namespace {

class WsCorruptConfig : public BehaviorConfig {
 public:
  explicit WsCorruptConfig(RequestMatch match) : match_(std::move(match)) {}
  json attributes() const override {
    json a = json::object();
    match_.add_to(a);
    return a;
  }
  bool matches(const RequestInfo& req) const override { return match_.matches(req); }
  std::optional<MessageFault> message_fault(Rng&, const MessageInfo& m) const override {
    if (!m.text) return std::nullopt;
    MessageFault f;
    f.corrupt = true;
    return f;
  }

 private:
  RequestMatch match_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(
      attrs, path, {"method", "path_prefix", "path_regex", "header_name", "header_value"}, errors);
  return std::make_shared<WsCorruptConfig>(parse_http_match(attrs, path, errors));
}

}  // namespace

void register_ws_corrupt(Registry& registry) {
  registry.add(
      {.name = "ws_corrupt",
       .description = "make a WebSocket text message invalid UTF-8 (the reader fails: 1007)",
       .parse = parse,
       .tcp = false,
       .redis = false});
}

}  // namespace faultline::proxy
