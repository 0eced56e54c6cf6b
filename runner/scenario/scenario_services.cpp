// Scenario parsing, services: the target, and the proxies with their initial toxics (checked by
// the proxy's own toxic parser for each proxy's protocol).
#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>

#include <fmt/format.h>

#include "proxy/behaviors/builtin.hpp"
#include "proxy/proxy.hpp"
#include "runner/scenario/scenario_parse.hpp"

namespace faultline::runner::scenario_detail {

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-' || c == '.';
  });
}

std::vector<std::string> get_string_list(const json& obj, const std::string& path, const char* key,
                                         ConfigErrors& errors) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_array()) {
    errors.add(path_join(path, key), "must be an array of strings");
    return out;
  }
  for (std::size_t i = 0; i < it->size(); ++i) {
    if (!(*it)[i].is_string())
      errors.add(path_index(path_join(path, key), i), "must be a string");
    else
      out.push_back((*it)[i].get<std::string>());
  }
  return out;
}

const json* get_object(const json& obj, const std::string& path, const char* key,
                       ConfigErrors& errors, bool required) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) errors.add(path_join(path, key), "required field is missing");
    return nullptr;
  }
  if (!it->is_object()) {
    errors.add(path_join(path, key), fmt::format("must be an object, got {}", it->type_name()));
    return nullptr;
  }
  return &*it;
}

std::optional<ParsedToxic> parse_scenario_toxic(const json& body, const std::string& path,
                                                const ProxyState& state, ConfigErrors& errors) {
  if (state.protocol) {
    if (auto t = proxy::parse_toxic(body, path, *state.protocol, proxy::builtin_registry(), errors))
      return ParsedToxic{t->name, std::move(t)};
  } else if (!body.is_object()) {
    errors.add(path, "must be a toxic object {\"type\": ..., \"attributes\": {...}}");
  }
  // Invalid (reported above, or the proxy's protocol is): keep its name when it can be told.
  if (!body.is_object()) return std::nullopt;
  if (auto n = body.find("name"); n != body.end() && n->is_string() && !n->empty())
    return ParsedToxic{n->get<std::string>(), std::nullopt};
  auto type = body.find("type");
  if (type == body.end() || !type->is_string()) return std::nullopt;
  const auto stream = body.value("stream", std::string()) == "upstream" ? proxy::Stream::upstream
                                                                        : proxy::Stream::downstream;
  return ParsedToxic{proxy::default_toxic_name(type->get<std::string>(), stream), std::nullopt};
}

void parse_target(const json& t, const std::string& path, Scenario& s, ConfigErrors& errors) {
  s.target.enabled = true;
  reject_unknown_keys(t, path,
                      {"mode", "store", "threads", "solver_threads", "solver_queue",
                       "debug_leak_bytes_per_request", "args", "listen", "after", "tls"},
                      errors);
  s.target.tls = get_bool(t, path, "tls", errors).value_or(false);
  if (auto m = get_string(t, path, "mode", errors)) {
    if (*m != "resilient" && *m != "naive")
      errors.add(path_join(path, "mode"),
                 fmt::format("must be \"resilient\" or \"naive\", got \"{}\"", *m));
    s.target.mode = *m;
  }
  if (auto st = get_string(t, path, "store", errors)) {
    if (*st != "memory" && *st != "file" && *st != "redis")
      errors.add(path_join(path, "store"),
                 fmt::format("must be \"memory\", \"file\" or \"redis\", got \"{}\"", *st));
    s.target.store = *st;
  }
  auto positive = [&](const char* key, std::optional<std::int64_t>& out) {
    if (auto v = get_integer(t, path, key, errors)) {
      if (*v < 1)
        errors.add(path_join(path, key), fmt::format("must be >= 1, got {}", *v));
      else
        out = v;
    }
  };
  positive("threads", s.target.threads);
  positive("solver_threads", s.target.solver_threads);
  positive("solver_queue", s.target.solver_queue);
  if (auto v = get_integer(t, path, "debug_leak_bytes_per_request", errors)) {
    if (*v < 0)
      errors.add(path_join(path, "debug_leak_bytes_per_request"), "must be >= 0");
    else
      s.target.debug_leak_bytes_per_request = *v;
  }
  s.target.args = get_string_list(t, path, "args", errors);
  for (const auto& a : s.target.args)
    if (s.target.tls && (a == "--tls-cert" || a == "--tls-key"))
      errors.add(path_join(path, "tls"),
                 fmt::format("true gives the target the run's certificate; args has {} too", a));
  if (auto l = get_string(t, path, "listen", errors)) {
    if (!parse_host_port(*l))
      errors.add(path_join(path, "listen"), fmt::format("must be HOST:PORT, got \"{}\"", *l));
    s.target.listen = *l;
  }
  s.target.after = get_string_list(t, path, "after", errors);
}

namespace {

// services.proxies[i] of the scenario as written (placeholders not substituted), or null.
const json* raw_proxy(const json& source, std::size_t i) {
  const auto services = source.find("services");
  if (services == source.end() || !services->is_object()) return nullptr;
  const auto proxies = services->find("proxies");
  if (proxies == services->end() || !proxies->is_array() || i >= proxies->size()) return nullptr;
  return (*proxies)[i].is_object() ? &(*proxies)[i] : nullptr;
}

// A proxy's "tls" / "upstream_tls" object: its shape, and that each file it names exists. The
// file paths are made absolute against the scenario's directory (the proxy runs elsewhere). A
// path written with a placeholder (${tls.cert}, ${out}/...) names a file made at run time: not
// checked here. The proxy's own parser judges the rest when the proxy is created.
std::optional<json> tls_member(const json& value, json::const_iterator raw_it, const json* raw,
                               const std::string& path, const std::string& key,
                               const std::string& base_dir, ConfigErrors& errors) {
  if (!value.is_object()) {
    errors.add(path, fmt::format("must be an object, got {}", value.type_name()));
    return std::nullopt;
  }
  const bool upstream = key == "upstream_tls";
  const std::vector<std::string> files = upstream
                                             ? std::vector<std::string>{"ca", "cert", "key"}
                                             : std::vector<std::string>{"cert", "key", "client_ca"};
  const json* raw_obj = raw && raw_it != raw->end() && raw_it->is_object() ? &*raw_it : nullptr;
  json out = value;
  bool ok = true;
  // Every member, so a typo ("verfy") is an error here, with its path, before anything starts.
  const std::size_t before = errors.list().size();
  if (upstream)
    reject_unknown_keys(value, path, {"ca", "verify", "sni", "cert", "key"}, errors);
  else
    reject_unknown_keys(value, path, {"cert", "key", "client_ca"}, errors);
  if (errors.list().size() != before) ok = false;
  if (upstream) {
    if (auto sni = value.find("sni"); sni != value.end() && !sni->is_string()) {
      errors.add(path_join(path, "sni"), "must be a host name (a string)");
      ok = false;
    }
    if (auto v = value.find("verify");
        v != value.end() && v->is_boolean() && !v->get<bool>() && value.contains("ca")) {
      errors.add(path_join(path, "ca"),
                 "\"verify\": false checks no certificate: drop \"ca\" or verify against it");
      ok = false;
    }
  }
  for (const auto& f : files) {
    const auto it = value.find(f);
    if (it == value.end()) continue;
    const std::string fp = path_join(path, f);
    if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
      errors.add(fp, "must be a file path (a non-empty string)");
      ok = false;
      continue;
    }
    std::filesystem::path file(it->get<std::string>());
    if (file.is_relative()) file = std::filesystem::path(base_dir) / file;
    out[f] = file.lexically_normal().string();
    bool generated = false;
    if (raw_obj)
      if (auto r = raw_obj->find(f); r != raw_obj->end() && r->is_string())
        generated = r->get_ref<const std::string&>().find("${") != std::string::npos;
    std::error_code ec;
    if (!generated && !std::filesystem::is_regular_file(file, ec)) {
      errors.add(fp, fmt::format("no such file: {}", file.string()));
      ok = false;
    }
  }
  if (!upstream) {
    for (const char* required : {"cert", "key"})
      if (!value.contains(required)) {
        errors.add(path_join(path, required),
                   "required field is missing (the certificate the proxy serves)");
        ok = false;
      }
  } else if (value.contains("cert") != value.contains("key")) {
    errors.add(path_join(path, value.contains("cert") ? "key" : "cert"),
               "a client certificate needs both cert and key");
    ok = false;
  }
  if (upstream)
    if (auto v = value.find("verify"); v != value.end() && !v->is_boolean()) {
      errors.add(path_join(path, "verify"), "must be true or false");
      ok = false;
    }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace

void parse_proxies(const json& arr, const std::string& path, Scenario& s, ProxyStates& states,
                   ConfigErrors& errors) {
  if (!arr.is_array()) {
    errors.add(path, "must be an array of proxies");
    return;
  }
  std::set<std::string> names;
  std::set<int> fronted_shards;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string p = path_index(path, i);
    const json& o = arr[i];
    if (!o.is_object()) {
      errors.add(p, "must be an object");
      continue;
    }
    reject_unknown_keys(o, p,
                        {"name", "protocol", "upstream", "listen", "after", "toxics",
                         "max_active_faults", "record", "tls", "upstream_tls"},
                        errors);
    ProxySpec px;
    if (auto n = get_string(o, p, "name", errors, true)) {
      if (!proxy::valid_name(*n))  // the proxy's own rule: the name is a URL path segment
        errors.add(path_join(p, "name"), proxy::kNameRule);
      else if (!names.insert(*n).second)
        errors.add(path_join(p, "name"), fmt::format("duplicate proxy name \"{}\"", *n));
      px.name = *n;
    }
    if (auto pr = get_string(o, p, "protocol", errors)) {
      if (!proxy::parse_protocol(*pr))
        errors.add(path_join(p, "protocol"),
                   fmt::format("must be \"tcp\", \"http\" or \"redis\", got \"{}\"", *pr));
      px.protocol = *pr;
    }
    ProxyState& state = states[px.name];
    state.protocol = proxy::parse_protocol(px.protocol);
    if (auto up = get_string(o, p, "upstream", errors, true)) {
      const std::string up_path = path_join(p, "upstream");
      if (*up == "target") {
        px.upstream_kind = ProxySpec::Upstream::target;
        if (!s.target.enabled) errors.add(up_path, "\"target\" but services.target is not set");
      } else if (up->rfind("redis:", 0) == 0) {
        px.upstream_kind = ProxySpec::Upstream::redis_shard;
        const auto id = ComponentId::parse(*up);
        int n = -1;
        if (id && id->index() < static_cast<std::size_t>(s.redis_shards))
          n = static_cast<int>(id->index());
        if (n < 0)
          errors.add(up_path,
                     fmt::format("\"{}\": shard index must be 0..{} (services.redis.shards "
                                 "is {})",
                                 *up, s.redis_shards - 1, s.redis_shards));
        else if (!fronted_shards.insert(n).second)
          errors.add(up_path, fmt::format("another proxy already fronts redis shard {}", n));
        px.shard = n;
      } else if (parse_host_port(*up)) {
        px.upstream_kind = ProxySpec::Upstream::address;
        px.address = *up;
      } else {
        errors.add(up_path, fmt::format("must be \"target\", \"redis:N\" or \"host:port\", got "
                                        "\"{}\"",
                                        *up));
      }
    }
    if (auto l = get_string(o, p, "listen", errors)) {
      if (!parse_host_port(*l))
        errors.add(path_join(p, "listen"), fmt::format("must be HOST:PORT, got \"{}\"", *l));
      px.listen = *l;
    }
    px.after = get_string_list(o, p, "after", errors);
    if (auto it = o.find("toxics"); it != o.end()) {
      if (!it->is_array()) {
        errors.add(path_join(p, "toxics"), "must be an array");
      } else {
        for (std::size_t k = 0; k < it->size(); ++k) {
          const std::string tp = path_index(path_join(p, "toxics"), k);
          auto parsed = parse_scenario_toxic((*it)[k], tp, state, errors);
          if (!parsed) continue;
          if (!state.toxics.emplace(parsed->name, parsed->toxic).second)
            errors.add(tp, fmt::format("duplicate toxic name \"{}\" on proxy \"{}\"", parsed->name,
                                       px.name));
          else if (parsed->toxic)
            px.toxics.push_back((*it)[k]);
        }
      }
    }
    for (const char* key : {"max_active_faults", "record"})
      if (auto it = o.find(key); it != o.end()) px.extra[key] = *it;
    const json* raw = raw_proxy(s.source, i);
    for (const char* key : {"tls", "upstream_tls"})
      if (auto it = o.find(key); it != o.end())
        if (auto tls = tls_member(*it, raw ? raw->find(key) : json::const_iterator(), raw,
                                  path_join(p, key), key, s.base_dir, errors))
          px.extra[key] = std::move(*tls);
    if (!px.extra.empty() && state.protocol) {
      // The members passed through to the proxy are judged by the proxy's own parser, on a probe
      // object whose other members are valid (its listen/upstream are only known at run time).
      // tls/upstream_tls are checked above (shape, files exist) and by the proxy when it is
      // created (the certificates themselves): the probe leaves them out.
      json probe = px.extra;
      probe.erase("tls");
      probe.erase("upstream_tls");
      probe["name"] = "probe";
      probe["listen"] = "127.0.0.1:0";
      probe["upstream"] = "127.0.0.1:1";
      probe["protocol"] = px.protocol;
      proxy::parse_proxy(probe, p, nullptr, proxy::builtin_registry(), nullptr, errors);
    }
    // A proxy that decrypts (tls) or reads the protocol (http, redis) sends plain bytes upstream:
    // in front of a TLS target it must originate TLS itself. A plain tcp proxy passes the
    // encrypted bytes through untouched.
    if (px.upstream_kind == ProxySpec::Upstream::target && s.target.tls &&
        (px.protocol != "tcp" || o.contains("tls")) && !o.contains("upstream_tls"))
      errors.add(
          path_join(p, "upstream_tls"),
          fmt::format("required: the target has \"tls\": true and this {} proxy {} (e.g. "
                      "\"upstream_tls\": {{\"ca\": \"${{tls.ca}}\"}})",
                      px.protocol, o.contains("tls") ? "terminates TLS" : "reads the traffic"));
    s.proxies.push_back(std::move(px));
  }
}

}  // namespace faultline::runner::scenario_detail
