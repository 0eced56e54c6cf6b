// `http_rewrite` (protocol http, stream downstream): changes a matching upstream response on its
// way to the client — `status`, `set_headers`, `remove_headers`, and the body: replaced (`body`)
// or patched as JSON (`json_patch`, RFC 6902). Request rules (method, path_prefix, path_regex,
// header_name, header_value) pick the request; `response_status` and `content_type` pick the
// response once its head arrives. The toxicity is drawn per request; the fault is counted when it
// applies. What the proxy does with the response is in proxy/response_rewrite.hpp and
// http_rewrite_relay.cpp; docs/proxy.md "http_rewrite" has the rules.
#include <fmt/format.h>

#include "proxy/behavior.hpp"
#include "proxy/behaviors/body_behavior.hpp"
#include "proxy/response_rewrite.hpp"

namespace faultline::proxy {

namespace {

constexpr std::size_t kMaxPatchOps = 1000;

// "" or "/a/b~1c": RFC 6901 (every "~" followed by 0 or 1).
bool is_json_pointer(const std::string& p) {
  if (!p.empty() && p[0] != '/') return false;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i] == '~' && (i + 1 == p.size() || (p[i + 1] != '0' && p[i + 1] != '1'))) return false;
  return true;
}

void check_patch(const json& ops, const std::string& path, ConfigErrors& errors) {
  if (!ops.is_array() || ops.empty()) {
    errors.add(path, "must be a non-empty array of RFC 6902 operations");
    return;
  }
  if (ops.size() > kMaxPatchOps) {
    errors.add(path, fmt::format("at most {} operations, got {}", kMaxPatchOps, ops.size()));
    return;
  }
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const std::string at = fmt::format("{}[{}]", path, i);
    const json& op = ops[i];
    if (!op.is_object()) {
      errors.add(at, "must be an object {\"op\", \"path\", ...}");
      continue;
    }
    reject_unknown_keys(op, at, {"op", "path", "value", "from"}, errors);
    const auto name = get_string(op, at, "op", errors, true);
    if (name && *name != "add" && *name != "remove" && *name != "replace" && *name != "move" &&
        *name != "copy" && *name != "test")
      errors.add(
          path_join(at, "op"),
          fmt::format("must be add, remove, replace, move, copy or test, got \"{}\"", *name));
    if (auto p = get_string(op, at, "path", errors, true); p && !is_json_pointer(*p))
      errors.add(path_join(at, "path"), "must be a JSON pointer (\"\" or \"/a/0/b\")");
    if (!name) continue;
    const bool needs_value = *name == "add" || *name == "replace" || *name == "test";
    const bool needs_from = *name == "move" || *name == "copy";
    if (needs_value && !op.contains("value"))
      errors.add(path_join(at, "value"), fmt::format("required by \"{}\"", *name));
    if (needs_from) {
      if (auto f = get_string(op, at, "from", errors, true); f && !is_json_pointer(*f))
        errors.add(path_join(at, "from"), "must be a JSON pointer (\"\" or \"/a/0/b\")");
    }
  }
}

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_http_keys(attrs, path,
                           {"response_status", "content_type", "status", "set_headers",
                            "remove_headers", "body", "json_patch"},
                           errors);
  auto rw = std::make_shared<ResponseRewrite>();
  json echo = json::object();
  if (auto it = attrs.find("response_status"); it != attrs.end()) {
    rw->response_status = parse_status_ranges(*it, path_join(path, "response_status"), errors);
    echo["response_status"] = *it;
  }
  if (auto ct = get_string(attrs, path, "content_type", errors)) {
    if (ct->empty()) errors.add(path_join(path, "content_type"), "must not be empty");
    rw->content_type = *ct;
    echo["content_type"] = *ct;
  }
  if (auto s = get_integer(attrs, path, "status", errors)) {
    if (*s < 200 || *s > 599 || *s == 204 || *s == 304)
      errors.add(path_join(path, "status"),
                 fmt::format("must be 200..599 and not 204 or 304 (bodiless), got {}", *s));
    else
      rw->status = static_cast<unsigned>(*s);
    echo["status"] = *s;
  }
  if (attrs.contains("set_headers")) {
    rw->set_headers = parse_header_values(attrs, path, "set_headers", errors);
    for (const auto& [name, value] : rw->set_headers) {
      if (is_framing_header(name))
        errors.add(path_join(path_join(path, "set_headers"), name),
                   "a framing header (Content-Length, Transfer-Encoding, Connection, Upgrade, "
                   "Trailer) is the proxy's");
      echo["set_headers"][name] = value;
    }
  }
  if (auto it = attrs.find("remove_headers"); it != attrs.end()) {
    if (!it->is_array() || it->empty()) {
      errors.add(path_join(path, "remove_headers"), "must be a non-empty array of header names");
    } else {
      for (std::size_t i = 0; i < it->size(); ++i) {
        const std::string at = fmt::format("{}[{}]", path_join(path, "remove_headers"), i);
        const json& v = (*it)[i];
        if (!v.is_string() || !is_header_name(v.get<std::string>()))
          errors.add(at, "must be a header name (an HTTP token)");
        else if (is_framing_header(v.get<std::string>()))
          errors.add(at,
                     "a framing header (Content-Length, Transfer-Encoding, Connection, "
                     "Upgrade, Trailer) is the proxy's");
        else
          rw->remove_headers.push_back(v.get<std::string>());
      }
      echo["remove_headers"] = *it;
    }
  }
  if (auto b = get_string(attrs, path, "body", errors)) {
    rw->body = *b;
    echo["body"] = *b;
  }
  if (auto it = attrs.find("json_patch"); it != attrs.end()) {
    check_patch(*it, path_join(path, "json_patch"), errors);
    rw->json_patch = *it;
    echo["json_patch"] = *it;
    if (rw->body)
      errors.add(path_join(path, "json_patch"), "cannot be given with body (body replaces it)");
  }
  if (!rw->status && rw->set_headers.empty() && rw->remove_headers.empty() && !rw->body &&
      !rw->json_patch && attrs.is_object() && !attrs.contains("set_headers") &&
      !attrs.contains("remove_headers"))
    errors.add(path,
               "needs at least one change: status, set_headers, remove_headers, body or "
               "json_patch");
  RequestFault fault;
  fault.kind = RequestFault::Kind::rewrite;
  fault.rewrite = std::move(rw);
  return std::make_shared<BodyBehaviorConfig>(std::move(fault), std::move(echo),
                                              parse_http_match(attrs, path, errors));
}

}  // namespace

void register_http_rewrite(Registry& registry) {
  registry.add({.name = "http_rewrite",
                .description = "rewrite matching upstream responses: status, headers, body or an "
                               "RFC 6902 json_patch",
                .parse = parse,
                .tcp = false,
                .redis = false,
                .downstream_only = "http_rewrite rewrites responses (stream downstream)"});
}

}  // namespace faultline::proxy
