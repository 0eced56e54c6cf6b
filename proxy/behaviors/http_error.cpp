// `http_error` (protocol http): answers matching requests locally with `status` (default 503),
// `body` (default a faultline JSON error) and extra `headers`, without contacting the upstream.
// Keep-alive is preserved. Matching: method, path_prefix, path_regex, header_name/header_value.
#include "proxy/behavior.hpp"

#include <cctype>
#include <string_view>

#include <fmt/format.h>

#include "proxy/behaviors/match.hpp"

namespace faultline::proxy {

namespace {

class HttpErrorConfig : public BehaviorConfig {
 public:
  HttpErrorConfig(unsigned status, std::optional<std::string> body,
                  std::vector<std::pair<std::string, std::string>> headers, RequestMatch match)
      : status_(status),
        body_(std::move(body)),
        headers_(std::move(headers)),
        match_(std::move(match)) {}
  json attributes() const override {
    json h = json::object();
    for (const auto& [k, v] : headers_)
      h[k] = v;
    json a{{"status", status_}, {"headers", h}};
    if (body_) a["body"] = *body_;  // absent: a JSON error naming the status
    match_.add_to(a);
    return a;
  }
  bool matches(const RequestInfo& req) const override { return match_.matches(req); }
  RequestFault request_fault(Rng&, Stream) const override {
    RequestFault f;
    f.kind = RequestFault::Kind::error;
    f.status = status_;
    f.body = body_ ? *body_ : json{{"error", "injected by faultline"}, {"status", status_}}.dump();
    f.headers = headers_;
    return f;
  }

 private:
  unsigned status_;
  std::optional<std::string> body_;
  std::vector<std::pair<std::string, std::string>> headers_;
  RequestMatch match_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(attrs, path,
                      {"status", "body", "headers", "method", "path_prefix", "path_regex",
                       "header_name", "header_value"},
                      errors);
  unsigned status = 503;
  if (auto s = get_integer(attrs, path, "status", errors)) {
    if (*s < 200 || *s > 599)
      errors.add(path_join(path, "status"), fmt::format("must be 200..599, got {}", *s));
    else
      status = static_cast<unsigned>(*s);
  }
  std::optional<std::string> body = get_string(attrs, path, "body", errors);
  auto headers = parse_header_values(attrs, path, "headers", errors);
  return std::make_shared<HttpErrorConfig>(status, std::move(body), std::move(headers),
                                           parse_http_match(attrs, path, errors));
}

}  // namespace

void register_http_error(Registry& registry) {
  registry.add({.name = "http_error",
                .description = "answer matching requests with status/body/headers",
                .parse = parse,
                .tcp = false,
                .redis = false});
}

}  // namespace faultline::proxy
