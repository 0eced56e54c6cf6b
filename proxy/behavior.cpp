// Toxic parsing and the behavior registry (see behavior.hpp).
#include "proxy/behavior.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace faultline::proxy {

std::string_view to_string(Protocol p) {
  switch (p) {
    case Protocol::tcp:
      return "tcp";
    case Protocol::http:
      return "http";
    case Protocol::redis:
      return "redis";
  }
  return "tcp";
}

std::string_view to_string(Stream s) {
  return s == Stream::upstream ? "upstream" : "downstream";
}

std::string_view to_string(Scope s) {
  return s == Scope::connection ? "connection" : "request";
}

std::optional<Protocol> parse_protocol(std::string_view s) {
  if (s == "tcp") return Protocol::tcp;
  if (s == "http") return Protocol::http;
  if (s == "redis") return Protocol::redis;
  return std::nullopt;
}

Probability::Probability(double p) : value_(p) {
  if (p >= 1.0)
    threshold_ = std::uint64_t{1} << 53;
  else if (p <= 0.0)
    threshold_ = 0;
  else
    threshold_ = static_cast<std::uint64_t>(std::llround(std::ldexp(p, 53)));
}

std::unique_ptr<StreamStage> BehaviorConfig::make_stream_stage(Rng& /*rng*/,
                                                               Clock::time_point /*now*/) const {
  return nullptr;
}

RequestFault BehaviorConfig::request_fault(Rng& /*rng*/, Stream /*stream*/) const {
  return {};
}

void Registry::add(BehaviorType type) {
  std::string name = type.name;
  types_.insert_or_assign(std::move(name), std::move(type));
}

const BehaviorType* Registry::find(std::string_view name) const {
  auto it = types_.find(name);
  return it == types_.end() ? nullptr : &it->second;
}

std::vector<std::string> Registry::names() const {
  std::vector<std::string> out;
  for (const auto& [k, _] : types_)
    out.push_back(k);
  return out;
}

json Toxic::to_json() const {
  return json{{"name", name},
              {"type", type},
              {"stream", std::string(to_string(stream))},
              {"toxicity", toxicity},
              {"scope", std::string(to_string(scope))},
              {"attributes", config ? config->attributes() : json::object()}};
}

std::int64_t attr_nonneg_int(const json& attrs, const std::string& path, const char* key,
                             std::int64_t fallback, ConfigErrors& errors, std::int64_t max) {
  // Look at the JSON number's own type first: an unsigned one above INT64_MAX would wrap to a
  // negative number in the conversion, and the error would show a value nobody sent.
  if (auto it = attrs.find(key); it != attrs.end() && it->is_number_unsigned() &&
                                 it->get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
    errors.add(path_join(path, key), fmt::format("must be at most {}, got {}", max, it->dump()));
    return fallback;
  }
  auto v = get_integer(attrs, path, key, errors);
  if (!v) return fallback;
  if (*v < 0) {
    errors.add(path_join(path, key), fmt::format("must be >= 0, got {}", *v));
    return fallback;
  }
  if (*v > max) {
    errors.add(path_join(path, key), fmt::format("must be at most {}, got {}", max, *v));
    return fallback;
  }
  return *v;
}

bool available_on(const BehaviorType& bt, Protocol protocol) {
  switch (protocol) {
    case Protocol::tcp:
      return bt.tcp;
    case Protocol::http:
      return bt.http;
    case Protocol::redis:
      return bt.redis;
  }
  return false;
}

namespace {

// Rejects a protocol-foreign behavior at any depth inside wrappers (e.g. an http_error inside
// `transient` on a redis proxy), naming the inner `type` field's JSON path.
void check_nested_protocol(const BehaviorConfig& config, const std::string& attrs_path,
                           Protocol protocol, const Registry& registry, ConfigErrors& errors) {
  for (const auto& n : config.nested()) {
    const std::string npath = attrs_path + n.path;
    const BehaviorType* bt = registry.find(n.type);
    if (bt && !available_on(*bt, protocol))
      errors.add(path_join(npath, "type"),
                 fmt::format("behavior type \"{}\" is not available on a {} proxy", n.type,
                             to_string(protocol)));
    // A handshake fault acts once per connection, before any byte; a wrapper draws per connection
    // or request after the handshake, so inside one it would silently do nothing.
    if (n.config && n.config->handshake_fault())
      errors.add(path_join(npath, "type"),
                 fmt::format("\"{}\" acts on the TLS handshake and cannot be wrapped; add it as a "
                             "toxic of its own",
                             n.type));
    if (n.config)
      check_nested_protocol(*n.config, path_join(npath, "attributes"), protocol, registry, errors);
  }
}

// A Toxiproxy toxic's attributes as Toxiproxy reads them: unknown ones dropped, negative values
// that act as 0 there set to 0; each change is a warning.
json as_toxiproxy_reads(const json& attrs, const ToxiproxyAttributes& tp, const std::string& path,
                        std::vector<std::string>& warnings) {
  json out = json::object();
  auto listed = [](const std::vector<std::string>& v, const std::string& k) {
    return std::find(v.begin(), v.end(), k) != v.end();
  };
  for (const auto& [k, v] : attrs.items()) {
    if (!listed(tp.known, k)) {
      warnings.push_back(
          fmt::format("{}: unknown attribute, ignored (as in Toxiproxy)", path_join(path, k)));
      continue;
    }
    // (An unsigned number is never negative: 2^63 must not wrap to a negative int64.)
    if (listed(tp.negative_as_zero, k) && v.is_number_integer() && !v.is_number_unsigned() &&
        v.get<std::int64_t>() < 0) {
      warnings.push_back(fmt::format("{}: {} acts as 0 (as in Toxiproxy)", path_join(path, k),
                                     v.get<std::int64_t>()));
      out[k] = 0;
      continue;
    }
    // Above faultline's range but within int64 (what Toxiproxy decodes): clamped, since a wrapped
    // or overflowing value would act at once. Beyond int64 Toxiproxy refuses the body, and so
    // does the attribute's parser here.
    const std::string& key = k;  // (clang 14 cannot capture a structured binding)
    const auto bound = std::find_if(tp.at_most.begin(), tp.at_most.end(),
                                    [&key](const auto& b) { return b.first == key; });
    const bool in_int64 =
        v.is_number_integer() && (!v.is_number_unsigned() ||
                                  v.get<std::uint64_t>() <= static_cast<std::uint64_t>(INT64_MAX));
    if (bound != tp.at_most.end() && in_int64 && v.get<std::int64_t>() > bound->second) {
      warnings.push_back(fmt::format("{}: {} acts as {}, the most faultline takes",
                                     path_join(path, k), v.dump(), bound->second));
      out[k] = bound->second;
      continue;
    }
    out[k] = v;
  }
  return out;
}

}  // namespace

std::optional<Toxic> parse_toxic(const json& body, const std::string& path, Protocol protocol,
                                 const Registry& registry, ConfigErrors& errors,
                                 std::vector<std::string>* toxiproxy_warnings) {
  const std::size_t before = errors.list().size();
  if (!body.is_object()) {
    errors.add(path, "must be a JSON object");
    return std::nullopt;
  }
  reject_unknown_keys(body, path, {"name", "type", "stream", "toxicity", "scope", "attributes"},
                      errors);
  Toxic t;
  auto type = get_string(body, path, "type", errors, true);
  const BehaviorType* bt = nullptr;
  if (type) {
    t.type = *type;
    bt = registry.find(*type);
    if (!bt) {
      std::string known;
      for (const auto& n : registry.names())
        known += (known.empty() ? "" : ", ") + n;
      errors.add(path_join(path, "type"),
                 fmt::format("unknown toxic type \"{}\" (known: {})", *type, known));
    } else if (!available_on(*bt, protocol)) {
      errors.add(path_join(path, "type"), fmt::format("toxic type \"{}\" is not available on a {} "
                                                      "proxy",
                                                      *type, to_string(protocol)));
      bt = nullptr;
    }
  }
  if (auto s = get_string(body, path, "stream", errors)) {
    if (*s == "upstream")
      t.stream = Stream::upstream;
    else if (*s == "downstream")
      t.stream = Stream::downstream;
    else
      errors.add(path_join(path, "stream"),
                 fmt::format("must be \"upstream\" or \"downstream\", got \"{}\"", *s));
  }
  if (bt && bt->downstream_only && t.stream == Stream::upstream)
    errors.add(path_join(path, "stream"), bt->downstream_only);
  if (auto p = get_number(body, path, "toxicity", errors)) {
    if (*p >= 0.0 && *p <= 1.0) {
      t.toxicity = *p;
    } else if (toxiproxy_warnings && std::isfinite(*p)) {
      // Toxiproxy draws rand.Float32() < toxicity: never below 0, always above 1.
      t.toxicity = *p;
      toxiproxy_warnings->push_back(fmt::format("{}: {} acts as {} (as in Toxiproxy)",
                                                path_join(path, "toxicity"), *p, *p < 0 ? 0 : 1));
    } else {
      errors.add(path_join(path, "toxicity"), fmt::format("must be between 0 and 1, got {}", *p));
    }
  }
  t.probability = Probability(std::clamp(t.toxicity, 0.0, 1.0));
  t.scope = protocol == Protocol::tcp ? Scope::connection : Scope::request;
  if (auto s = get_string(body, path, "scope", errors)) {
    if (*s == "connection")
      t.scope = Scope::connection;
    else if (*s == "request" && protocol != Protocol::tcp)
      t.scope = Scope::request;
    else if (*s == "request")
      errors.add(path_join(path, "scope"),
                 "\"request\" needs a proxy with protocol http or redis (a tcp proxy has no "
                 "requests)");
    else
      errors.add(path_join(path, "scope"),
                 fmt::format("must be \"connection\" or \"request\", got \"{}\"", *s));
  }
  if (auto n = get_string(body, path, "name", errors)) {
    if (n->empty())
      errors.add(path_join(path, "name"), "must not be empty");
    else
      t.name = *n;
  }
  if (t.name.empty() && type) t.name = default_toxic_name(t.type, t.stream);

  json attrs = json::object();
  if (auto it = body.find("attributes"); it != body.end() && !it->is_null()) {
    if (!it->is_object())
      errors.add(path_join(path, "attributes"), "must be a JSON object");
    else
      attrs = *it;
  }
  if (bt && bt->toxiproxy && toxiproxy_warnings)
    attrs = as_toxiproxy_reads(attrs, *bt->toxiproxy, path_join(path, "attributes"),
                               *toxiproxy_warnings);
  if (bt) t.config = bt->parse(attrs, path_join(path, "attributes"), errors);
  if (t.config)
    check_nested_protocol(*t.config, path_join(path, "attributes"), protocol, registry, errors);
  if (errors.list().size() != before || !t.config) return std::nullopt;
  return t;
}

std::string default_toxic_name(std::string_view type, Stream stream) {
  return std::string(type) + "_" + std::string(to_string(stream));
}

std::optional<Toxic> update_toxic(const Toxic& current, const json& update, const std::string& path,
                                  Protocol protocol, const Registry& registry, ConfigErrors& errors,
                                  std::vector<std::string>* toxiproxy_warnings) {
  if (!update.is_object()) {
    errors.add(path, "must be a JSON object");
    return std::nullopt;
  }
  const auto before = errors.list().size();
  json merged = current.to_json();
  for (const auto& [k, v] : update.items()) {
    if (k == "attributes" && v.is_object()) {
      for (const auto& [ak, av] : v.items())
        merged["attributes"][ak] = av;
    } else {
      merged[k] = v;
    }
  }
  if (merged["name"] != current.name)
    errors.add(path_join(path, "name"), "a toxic cannot be renamed");
  if (merged["type"] != current.type)
    errors.add(path_join(path, "type"), "a toxic's type cannot change");
  auto toxic = parse_toxic(merged, path, protocol, registry, errors, toxiproxy_warnings);
  if (errors.list().size() != before) return std::nullopt;
  return toxic;
}

}  // namespace faultline::proxy
