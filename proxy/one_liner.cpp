// `--behavior` parsing: "PERCENT:NAME[,PERCENT:NAME...]", percent first. Vaurien's names map to
// this protocol's behavior: delay → latency/http_delay/redis_delay (1 s, Vaurien's default),
// error → http_error (503) / redis_error; any other registered type is used with its defaults.
#include "proxy/one_liner.hpp"

#include <charconv>

#include <fmt/format.h>

namespace faultline::proxy {

namespace {

json choice_for(const std::string& name, const std::string& protocol, const Registry& registry,
                ConfigErrors& errors) {
  if (name == "delay") {
    if (protocol == "http") return {{"type", "http_delay"}, {"attributes", {{"delay", 1000}}}};
    if (protocol == "redis") return {{"type", "redis_delay"}, {"attributes", {{"delay", 1000}}}};
    return {{"type", "latency"}, {"attributes", {{"latency", 1000}}}};
  }
  if (name == "error") {
    if (protocol == "http") return {{"type", "http_error"}, {"attributes", {{"status", 503}}}};
    if (protocol == "redis") return {{"type", "redis_error"}, {"attributes", json::object()}};
    errors.add("--behavior", "\"error\" needs --protocol http or redis");
    return nullptr;
  }
  const BehaviorType* bt = registry.find(name);
  if (!bt || name == "weighted" || name == "transient") {
    std::string known = "delay, error";
    for (const auto& n : registry.names())
      if (n != "weighted" && n != "transient") known += ", " + n;
    errors.add("--behavior", fmt::format("unknown behavior \"{}\" (known: {})", name, known));
    return nullptr;
  }
  const auto proto = parse_protocol(protocol);
  if (proto && !available_on(*bt, *proto)) {
    errors.add("--behavior",
               fmt::format("behavior \"{}\" is not available with --protocol {}", name, protocol));
    return nullptr;
  }
  return {{"type", name}, {"attributes", json::object()}};
}

}  // namespace

std::optional<json> one_liner_proxy(const std::string& listen, const std::string& upstream,
                                    const std::string& protocol, const std::string& behavior,
                                    const Registry& registry, ConfigErrors& errors) {
  json proxy{{"name", "proxy"}, {"listen", listen}, {"upstream", upstream}, {"protocol", protocol}};
  if (behavior.empty()) return proxy;
  json choices = json::array();
  double total = 0;
  std::size_t start = 0;
  while (start <= behavior.size()) {
    std::size_t end = behavior.find(',', start);
    if (end == std::string::npos) end = behavior.size();
    const std::string item = behavior.substr(start, end - start);
    start = end + 1;
    const auto colon = item.find(':');
    double pct = 0;
    if (colon == std::string::npos) {
      errors.add("--behavior", fmt::format("\"{}\": expected PERCENT:NAME like 20:delay", item));
      continue;
    }
    auto [p, ec] = std::from_chars(item.data(), item.data() + colon, pct);
    if (ec != std::errc() || p != item.data() + colon || !(pct > 0 && pct <= 100)) {
      errors.add("--behavior", fmt::format("\"{}\": the percent must be in (0, 100]", item));
      continue;
    }
    total += pct;
    json c = choice_for(item.substr(colon + 1), protocol, registry, errors);
    if (c.is_null()) continue;
    c["percent"] = pct;
    choices.push_back(std::move(c));
  }
  if (total > 100.0 + 1e-9)
    errors.add("--behavior", fmt::format("percents add up to {} (more than 100)", total));
  if (!errors.empty()) return std::nullopt;
  proxy["toxics"] = json::array(
      {{{"name", "behavior"}, {"type", "weighted"}, {"attributes", {{"choices", choices}}}}});
  return proxy;
}

}  // namespace faultline::proxy
