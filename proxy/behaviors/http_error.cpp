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

// RFC 9110 token characters.
bool is_header_name(const std::string& k) {
  static constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  for (unsigned char c : k)
    if (!std::isalnum(c) && extra.find(static_cast<char>(c)) == std::string_view::npos)
      return false;
  return !k.empty();
}

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
  std::vector<std::pair<std::string, std::string>> headers;
  if (auto it = attrs.find("headers"); it != attrs.end() && !it->is_null()) {
    if (!it->is_object()) {
      errors.add(path_join(path, "headers"), "must be an object of header name to value");
    } else {
      for (const auto& [k, v] : it->items()) {
        const std::string hp = path_join(path_join(path, "headers"), k);
        if (!v.is_string() || k.empty()) {
          errors.add(hp, "must be a string");
        } else if (!is_header_name(k)) {
          errors.add(hp,
                     "the header name must be an HTTP token (letters, digits, !#$%&'*+-.^_`|~)");
        } else if (v.get<std::string>().find_first_of(std::string("\r\n\0", 3)) !=
                   std::string::npos) {
          // A CR or LF would end the header and let the value write headers of its own.
          errors.add(hp, "the value must not contain CR, LF or NUL");
        } else {
          headers.emplace_back(k, v.get<std::string>());
        }
      }
    }
  }
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
