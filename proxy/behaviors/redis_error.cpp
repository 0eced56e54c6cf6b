// `redis_error` (protocol redis): answers matching commands with a RESP error, `-ERR injected by
// faultline` by default or `-<message>`; the command is not forwarded. Pipelined replies stay in
// order. Matching: `command` (case-insensitive name).
#include "proxy/behavior.hpp"

#include "proxy/behaviors/match.hpp"

namespace faultline::proxy {

namespace {

class RedisErrorConfig : public BehaviorConfig {
 public:
  RedisErrorConfig(std::string message, RequestMatch match)
      : message_(std::move(message)), match_(std::move(match)) {}
  json attributes() const override {
    json a{{"message", message_}};
    match_.add_to(a);
    return a;
  }
  bool matches(const RequestInfo& req) const override { return match_.matches(req); }
  RequestFault request_fault(Rng&, Stream) const override {
    RequestFault f;
    f.kind = RequestFault::Kind::error;
    f.body = message_;
    return f;
  }

 private:
  std::string message_;
  RequestMatch match_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(attrs, path, {"message", "command"}, errors);
  std::string message =
      get_string(attrs, path, "message", errors).value_or("ERR injected by faultline");
  if (message.empty() || message.find_first_of("\r\n") != std::string::npos)
    errors.add(path_join(path, "message"), "must be one non-empty line");
  return std::make_shared<RedisErrorConfig>(std::move(message),
                                            parse_redis_match(attrs, path, errors));
}

}  // namespace

void register_redis_error(Registry& registry) {
  registry.add({.name = "redis_error",
                .description = "answer matching commands with a RESP error",
                .parse = parse,
                .tcp = false,
                .http = false});
}

}  // namespace faultline::proxy
