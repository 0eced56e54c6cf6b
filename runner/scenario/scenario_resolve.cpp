// Scenario placeholders (placeholders.hpp): which names a scenario may use, the stand-ins that let
// a scenario be validated before anything runs, and resolve_for_run(), which picks the ports and
// re-parses the scenario with the real values.
#include <filesystem>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "common/subprocess.hpp"
#include "runner/scenario/scenario_parse.hpp"

namespace faultline::runner {

using namespace scenario_detail;

namespace scenario_detail {

namespace {

constexpr const char* kKnown =
    "${var.NAME}, ${port.NAME}, ${out}, ${scenario_dir}, ${faultline}, ${target.url}, "
    "${proxies.NAME.listen}, ${redis.I.port}, ${tls.ca}, ${tls.cert}, ${tls.key}, "
    "${tls.client_cert}, ${tls.client_key}; in a promql query also ${phase.duration}, "
    "${phases.NAME.duration}";

bool has_prefix(const std::string& s, std::string_view p) {
  return s.rfind(p, 0) == 0;
}

bool has_suffix(const std::string& s, std::string_view p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

bool is_number(const std::string& s) {
  return !s.empty() && s.size() < 4 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

}  // namespace

std::map<std::string, std::string> parse_vars(const json& doc, ConfigErrors& errors) {
  std::map<std::string, std::string> vars;
  auto it = doc.find("vars");
  if (it == doc.end()) return vars;
  if (!it->is_object()) {
    errors.add("$.vars", "must be an object of NAME: value (strings, numbers or booleans)");
    return vars;
  }
  for (const auto& [name, value] : it->items()) {
    const std::string path = path_join("$.vars", name);
    if (!valid_name(name))
      errors.add(path, "a variable name is 1-64 characters of [A-Za-z0-9_.-]");
    else if (value.is_string())
      vars[name] = value.get<std::string>();
    else if (value.is_number() || value.is_boolean())
      vars[name] = value.dump();  // 3 and true read as they are written
    else
      errors.add(path,
                 fmt::format("must be a string, a number or a boolean, got {}", value.type_name()));
  }
  return vars;
}

void check_placeholder_names(const json& doc, const std::vector<PlaceholderUse>& uses,
                             const std::map<std::string, std::string>& vars, ConfigErrors& errors) {
  const json* services = nullptr;
  if (auto it = doc.find("services"); it != doc.end() && it->is_object()) services = &*it;
  auto declared_proxy = [&](const std::string& n) {
    if (!services) return false;
    auto it = services->find("proxies");
    if (it == services->end() || !it->is_array()) return false;
    for (const auto& p : *it)
      if (p.is_object() && p.value("name", std::string()) == n) return true;
    return false;
  };
  std::int64_t shards = 0;
  if (services)
    if (auto r = services->find("redis"); r != services->end() && r->is_object())
      if (auto n = r->find("shards"); n != r->end() && n->is_number_integer())
        shards = n->get<std::int64_t>();
  const bool target = services && services->contains("target");
  std::set<std::pair<std::string, std::string>> reported;
  for (const auto& u : uses) {
    const std::string& n = u.name;
    std::string problem;
    if (n == "out" || n == "scenario_dir" || n == "faultline") continue;
    if (has_prefix(n, "var.")) {
      if (!vars.count(n.substr(4)) && reported.insert({u.path, n}).second)
        errors.add(u.path, fmt::format("\"${{{}}}\": no variable \"{}\" in $.vars (declare it, or "
                                       "give it with --var {}=VALUE)",
                                       n, n.substr(4), n.substr(4)));
      continue;
    }
    if (tls_pki_files().count(n)) continue;
    if (n == "phase" || has_prefix(n, "phase.") || has_prefix(n, "phases.")) {
      // A promql query's phase placeholders (promql_phases.hpp): left for the run to expand,
      // checked by the assertion; anywhere else they mean nothing.
      static const std::regex query_path(R"(\$\.assertions\[[0-9]+\]\.query)");
      if (!std::regex_match(u.path, query_path) && reported.insert({u.path, n}).second)
        errors.add(u.path, fmt::format("\"${{{}}}\": phase placeholders belong in a promql "
                                       "assertion's query",
                                       n));
      continue;
    }
    if (has_prefix(n, "port.")) {
      if (!valid_name(n.substr(5)))
        problem = fmt::format("\"${{{}}}\": a port name is 1-64 characters of [A-Za-z0-9_.-]", n);
    } else if (n == "target.url") {
      if (!target) problem = "\"${target.url}\" but services.target is not set";
    } else if (has_prefix(n, "proxies.") && has_suffix(n, ".listen") && n.size() > 15) {
      const std::string name = n.substr(8, n.size() - 15);
      if (!declared_proxy(name))
        problem = fmt::format("\"${{{}}}\": no proxy named \"{}\" in services.proxies", n, name);
    } else if (has_prefix(n, "redis.") && has_suffix(n, ".port") && n.size() > 11) {
      const std::string idx = n.substr(6, n.size() - 11);
      if (!is_number(idx) || std::stoi(idx) >= shards)
        problem = fmt::format("\"${{{}}}\": services.redis.shards is {} (indexes 0..{})", n, shards,
                              shards - 1);
    } else {
      problem = fmt::format(
          "unknown placeholder \"${{{}}}\" (known: {}; \"$${{\" is a literal "
          "\"${{\")",
          n, kKnown);
    }
    if (!problem.empty() && reported.insert({u.path, n}).second) errors.add(u.path, problem);
  }
}

const std::map<std::string, std::string>& tls_pki_files() {
  static const std::map<std::string, std::string> files{{"tls.ca", "ca.pem"},
                                                        {"tls.cert", "server.pem"},
                                                        {"tls.key", "server.key"},
                                                        {"tls.client_cert", "client.pem"},
                                                        {"tls.client_key", "client.key"}};
  return files;
}

void add_tls_values(std::map<std::string, std::string>& values, const std::string& out_dir) {
  for (const auto& [name, file] : tls_pki_files())
    values[name] = (std::filesystem::path(out_dir) / "tls" / file).string();
}

std::map<std::string, std::string> placeholder_stand_ins(const std::vector<PlaceholderUse>& uses) {
  std::map<std::string, std::string> v{
      {"out", "/faultline-out"}, {"scenario_dir", "."}, {"faultline", "faultline"}};
  add_tls_values(v, v["out"]);
  // std::string values assigned, not C strings: GCC 12 -Wrestrict false positive (PR105651).
  const std::string port = "1", url = "http://127.0.0.1:1", listen = "127.0.0.1:1";
  for (const auto& u : uses) {
    if (has_prefix(u.name, "port.") || has_prefix(u.name, "redis."))
      v[u.name] = port;
    else if (u.name == "target.url")
      v[u.name] = url;
    else if (has_prefix(u.name, "proxies."))
      v[u.name] = listen;
  }
  return v;
}

}  // namespace scenario_detail

namespace {

// A listen address as a client connects to it: a wildcard host becomes loopback.
std::string connectable(const std::string& listen) {
  auto hp = parse_host_port(listen);
  if (!hp) return listen;
  if (hp->host.empty() || hp->host == "0.0.0.0") hp->host = "127.0.0.1";
  if (hp->host == "::") hp->host = "::1";
  return hp->to_string();
}

std::string member_string(const json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

Scenario resolve_for_run(const Scenario& validated, const RunContext& ctx) {
  std::map<std::string, std::string> values{
      {"out", ctx.out_dir}, {"scenario_dir", validated.base_dir}, {"faultline", ctx.faultline_exe}};
  add_tls_values(values, ctx.out_dir);
  for (const auto& [name, value] : validated.vars)
    values["var." + name] = value;
  ConfigErrors ignored;
  // The placeholders of the file templates too (a port used only in nginx.conf).
  const json expanded = expand_file_templates(validated.source, validated.base_dir, ignored);
  const auto uses = find_placeholders(expanded, ignored);
  std::set<unsigned short> taken;
  auto pick = [&]() -> unsigned short {
    for (int attempt = 0; attempt < 100; ++attempt)
      if (unsigned short p = free_loopback_port(); taken.insert(p).second) return p;
    throw ConfigError("cannot find a free loopback port");
  };
  for (const auto& u : uses)
    if (has_prefix(u.name, "port.") && !values.count(u.name))
      values[u.name] = std::to_string(pick());
  std::vector<unsigned short> redis_ports;
  for (int i = 0; i < validated.redis_shards; ++i) {
    redis_ports.push_back(pick());
    values[fmt::format("redis.{}.port", i)] = std::to_string(redis_ports.back());
  }
  auto used = [&](const std::string& name) {
    return std::any_of(uses.begin(), uses.end(),
                       [&](const PlaceholderUse& u) { return u.name == name; });
  };
  // The listen addresses as written, with the ports substituted.
  const json partial = substitute_placeholders(expanded, values);
  const json services = partial.value("services", json::object());
  std::string target_listen;
  if (validated.target.enabled) {
    target_listen = member_string(services.value("target", json::object()), "listen");
    bool restarted = false;
    for (const auto& e : validated.timeline)
      for (const auto& a : e.actions)
        restarted |= a.kind == Action::Kind::restart && a.component == ComponentId::target();
    // A restarted target must come back on the same port (the proxies in front of it keep it).
    if (target_listen.empty() && (used("target.url") || restarted))
      target_listen = fmt::format("127.0.0.1:{}", pick());
    if (!target_listen.empty())
      values["target.url"] = fmt::format("{}://{}", validated.target.tls ? "https" : "http",
                                         connectable(target_listen));
  }
  std::map<std::string, std::string> proxy_listen;
  for (const auto& p : validated.proxies) {
    const std::string key = fmt::format("proxies.{}.listen", p.name);
    if (!used(key)) continue;
    std::string listen;
    for (const auto& pj : services.value("proxies", json::array()))
      if (member_string(pj, "name") == p.name) listen = member_string(pj, "listen");
    if (listen.empty()) listen = proxy_listen[p.name] = fmt::format("127.0.0.1:{}", pick());
    values[key] = connectable(listen);
  }
  for (const auto& [k, v] : ctx.fixed_values)
    values[k] = v;
  Scenario s = parse_scenario(validated.source, validated.base_dir, builtin_assertions(), &values);
  s.file = validated.file;
  s.placeholder_values = values;
  s.redis_ports = std::move(redis_ports);
  if (s.target.listen.empty()) s.target.listen = target_listen;
  for (auto& p : s.proxies)
    if (auto it = proxy_listen.find(p.name); it != proxy_listen.end() && p.listen.empty())
      p.listen = it->second;
  if (validated.scaled_to) {
    scale_duration(s, *validated.scaled_to);
    s.scaled_to = validated.scaled_to;
  }
  return s;
}

}  // namespace faultline::runner
