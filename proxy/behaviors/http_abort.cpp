// `http_abort` (protocol http): closes the client connection mid-exchange for matching requests:
// `when` "request" (default) closes without forwarding; "response" forwards the request, then
// closes instead of returning the response.
#include "proxy/behavior.hpp"

#include <fmt/format.h>

#include "proxy/behaviors/match.hpp"

namespace faultline::proxy {

namespace {

class HttpAbortConfig : public BehaviorConfig {
 public:
  HttpAbortConfig(bool after, RequestMatch match) : after_(after), match_(std::move(match)) {}
  json attributes() const override {
    json a{{"when", after_ ? "response" : "request"}};
    match_.add_to(a);
    return a;
  }
  bool matches(const RequestInfo& req) const override { return match_.matches(req); }
  RequestFault request_fault(Rng&, Stream) const override {
    RequestFault f;
    f.kind = after_ ? RequestFault::Kind::abort_upstream : RequestFault::Kind::abort;
    return f;
  }

 private:
  bool after_;
  RequestMatch match_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(
      attrs, path, {"when", "method", "path_prefix", "path_regex", "header_name", "header_value"},
      errors);
  bool after = false;
  if (auto w = get_string(attrs, path, "when", errors)) {
    if (*w == "response")
      after = true;
    else if (*w != "request")
      errors.add(path_join(path, "when"),
                 fmt::format("must be \"request\" or \"response\", got \"{}\"", *w));
  }
  return std::make_shared<HttpAbortConfig>(after, parse_http_match(attrs, path, errors));
}

}  // namespace

void register_http_abort(Registry& registry) {
  registry.add({.name = "http_abort",
                .description = "close the connection before forwarding or before answering",
                .parse = parse,
                .tcp = false,
                .redis = false});
}

}  // namespace faultline::proxy
