// `faultline ctl` (see ctl.hpp). The API address comes from --host, else $FAULTLINE_URL, else
// 127.0.0.1:8474; a token from --api-token or $FAULTLINE_API_TOKEN. Exit codes: 0 done, 1 the API
// refused (its error is printed), 2 bad input or the API is unreachable.
#include "proxy/ctl.hpp"

#include <cctype>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "common/config.hpp"
#include "common/http_client.hpp"
#include "proxy/behaviors/builtin.hpp"
#include "proxy/tls_flags.hpp"

namespace faultline::proxy {

namespace {

// The built-in toxic types for --help, from the Registry the proxy itself uses (one list).
std::string builtin_type_names() {
  Registry registry;
  register_builtin_behaviors(registry);
  std::string out;
  for (const auto& name : registry.names())
    out += (out.empty() ? "" : ", ") + name;
  return out;
}

struct CtlOptions {
  std::string host;
  std::string token;
  std::string name;
  std::string listen;
  std::string upstream;
  std::string protocol = "tcp";
  TlsFlags tls;
  std::string type;
  std::string toxic_name;
  std::string stream;
  double toxicity = -1;
  std::vector<std::string> attributes;
};

std::optional<HostPort> api_address(const CtlOptions& o) {
  std::string h = o.host;
  if (h.empty())
    if (const char* env = std::getenv("FAULTLINE_URL")) h = env;
  if (h.empty()) h = "127.0.0.1:8474";
  for (const char* scheme : {"http://", "https://"})
    if (h.rfind(scheme, 0) == 0) h = h.substr(std::string(scheme).size());
  while (!h.empty() && h.back() == '/')
    h.pop_back();
  return parse_host_port(h);
}

// A name as one URL path segment: bytes outside [A-Za-z0-9._~-] percent-encoded, so a name the API
// rejects at creation (a space, '?', '/') still makes a well-formed request that answers 404.
std::string segment(std::string_view name) {
  std::string out;
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '.' || c == '_' || c == '~' || c == '-')
      out += ch;
    else
      out += fmt::format("%{:02X}", static_cast<unsigned>(c));
  }
  return out;
}

// Performs one API call; prints errors; returns the JSON body on 2xx.
std::pair<int, json> api(const CtlOptions& o, const std::string& method, const std::string& target,
                         const json& body = nullptr) {
  auto hp = api_address(o);
  if (!hp) {
    std::cerr << "faultline ctl: bad --host/FAULTLINE_URL (expected HOST:PORT)\n";
    return {kExitUsage, nullptr};
  }
  HttpClientRequest req;
  req.method = method;
  req.target = target;
  if (!body.is_null()) {
    req.body = body.dump();
    req.headers.emplace_back("Content-Type", "application/json");
  }
  std::string token = o.token;
  if (token.empty())
    if (const char* env = std::getenv("FAULTLINE_API_TOKEN")) token = env;
  if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
  auto [ec, res] = http_fetch_sync(*hp, req);
  if (ec) {
    std::cerr << "faultline ctl: cannot reach the proxy API at " << hp->to_string() << ": "
              << ec.message() << "\n";
    return {kExitUsage, nullptr};
  }
  json j = res.body.empty() ? json() : parse_json_or_discarded(res.body);
  if (res.status < 200 || res.status >= 300) {
    std::cerr << "faultline ctl: " << res.status << ": "
              << (j.is_object() && j.contains("error") ? j["error"].get<std::string>() : res.body)
              << "\n";
    return {kExitFailed, nullptr};
  }
  return {kExitOk, j};
}

std::optional<json> parse_attributes(const std::vector<std::string>& list) {
  json attrs = json::object();
  for (const auto& kv : list) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "faultline ctl: --attribute \"" << kv << "\": expected KEY=VALUE\n";
      return std::nullopt;
    }
    const std::string value = kv.substr(eq + 1);
    json v = parse_json_or_discarded(value);
    attrs[kv.substr(0, eq)] = v.is_discarded() ? json(value) : v;  // 100 → number, abc → string
  }
  return attrs;
}

int cmd_list(const CtlOptions& o) {
  auto [rc, j] = api(o, "GET", "/proxies");
  if (rc) return rc;
  std::cout << std::left << std::setw(20) << "NAME" << std::setw(24) << "LISTEN" << std::setw(24)
            << "UPSTREAM" << std::setw(9) << "ENABLED" << std::setw(9) << "PROTOCOL"
            << "TOXICS\n";
  for (const auto& [name, p] : j.items())
    std::cout << std::left << std::setw(20) << name << std::setw(24)
              << p["listen"].get<std::string>() << std::setw(24) << p["upstream"].get<std::string>()
              << std::setw(9) << (p["enabled"].get<bool>() ? "yes" : "no") << std::setw(9)
              << p.value("protocol", "tcp") << p["toxics"].size() << "\n";
  return kExitOk;
}

int cmd_inspect(const CtlOptions& o) {
  auto [rc, j] = api(o, "GET", "/proxies/" + segment(o.name));
  if (rc) return rc;
  std::cout << j.dump(2) << "\n";
  return kExitOk;
}

int cmd_create(const CtlOptions& o) {
  json body{
      {"name", o.name}, {"listen", o.listen}, {"upstream", o.upstream}, {"protocol", o.protocol}};
  apply_tls_flags(o.tls, body);
  auto [rc, j] = api(o, "POST", "/proxies", body);
  if (rc) return rc;
  std::cout << "Created proxy " << o.name << " listening on " << j["listen"].get<std::string>()
            << "\n";
  return kExitOk;
}

int cmd_toggle(const CtlOptions& o) {
  auto [rc, j] = api(o, "GET", "/proxies/" + segment(o.name));
  if (rc) return rc;
  const bool enable = !j["enabled"].get<bool>();
  auto [rc2, j2] = api(o, "POST", "/proxies/" + segment(o.name), {{"enabled", enable}});
  if (rc2) return rc2;
  std::cout << "Proxy " << o.name << " is now " << (enable ? "enabled" : "disabled") << "\n";
  return kExitOk;
}

int cmd_delete(const CtlOptions& o) {
  auto [rc, j] = api(o, "DELETE", "/proxies/" + segment(o.name));
  if (rc) return rc;
  std::cout << "Deleted proxy " << o.name << "\n";
  return kExitOk;
}

int cmd_toxic_add(const CtlOptions& o) {
  auto attrs = parse_attributes(o.attributes);
  if (!attrs) return kExitUsage;
  // tls_bad_cert's files: the proxy reads them, maybe from another directory.
  if (o.type == "tls_bad_cert") absolute_file_attributes(*attrs);
  json body{{"type", o.type}, {"attributes", *attrs}};
  if (!o.toxic_name.empty()) body["name"] = o.toxic_name;
  if (!o.stream.empty()) body["stream"] = o.stream;
  if (o.toxicity >= 0) body["toxicity"] = o.toxicity;
  auto [rc, j] = api(o, "POST", "/proxies/" + segment(o.name) + "/toxics", body);
  if (rc) return rc;
  std::cout << "Added " << j["stream"].get<std::string>() << " " << j["type"].get<std::string>()
            << " toxic '" << j["name"].get<std::string>() << "' on proxy " << o.name << "\n";
  return kExitOk;
}

int cmd_toxic_update(const CtlOptions& o) {
  auto attrs = parse_attributes(o.attributes);
  if (!attrs) return kExitUsage;
  absolute_file_attributes(
      *attrs);  // `cert`/`key` are tls_bad_cert's files (no other type has them)
  json body = json::object();
  if (!attrs->empty()) body["attributes"] = *attrs;
  if (o.toxicity >= 0) body["toxicity"] = o.toxicity;
  auto [rc, j] =
      api(o, "POST", "/proxies/" + segment(o.name) + "/toxics/" + segment(o.toxic_name), body);
  if (rc) return rc;
  std::cout << "Updated toxic '" << o.toxic_name << "' on proxy " << o.name << ": " << j.dump()
            << "\n";
  return kExitOk;
}

int cmd_toxic_remove(const CtlOptions& o) {
  auto [rc, j] =
      api(o, "DELETE", "/proxies/" + segment(o.name) + "/toxics/" + segment(o.toxic_name));
  if (rc) return rc;
  std::cout << "Removed toxic '" << o.toxic_name << "' from proxy " << o.name << "\n";
  return kExitOk;
}

}  // namespace

void register_ctl_command(CommandRegistry& registry) {
  auto o = std::make_shared<CtlOptions>();
  CLI::App* ctl =
      registry.add("ctl", "Control a running faultline proxy (toxiproxy-cli style)", nullptr);
  ctl->require_subcommand(1);
  ctl->add_option("--host", o->host,
                  "proxy API address (default: $FAULTLINE_URL, else 127.0.0.1:8474)");
  ctl->add_option("--api-token", o->token, "bearer token (default: $FAULTLINE_API_TOKEN)");
  registry.add(ctl, "list", "List proxies", [o] { return cmd_list(*o); });
  registry
      .add(ctl, "inspect", "Show one proxy and its toxics as JSON", [o] { return cmd_inspect(*o); })
      ->add_option("name", o->name, "proxy name")
      ->required();
  auto* create = registry.add(ctl, "create", "Create a proxy", [o] { return cmd_create(*o); });
  create->add_option("name", o->name, "proxy name")->required();
  create->add_option("--listen,-l", o->listen, "listen address (port 0: any)")->required();
  create->add_option("--upstream,-u", o->upstream, "upstream host:port")->required();
  create->add_option("--protocol", o->protocol, "tcp, http or redis")
      ->capture_default_str()
      ->check(CLI::IsMember({"tcp", "http", "redis"}));
  add_tls_flags(*create, o->tls, "");
  registry
      .add(ctl, "toggle", "Enable a disabled proxy or disable an enabled one",
           [o] { return cmd_toggle(*o); })
      ->add_option("name", o->name, "proxy name")
      ->required();
  registry.add(ctl, "delete", "Delete a proxy", [o] { return cmd_delete(*o); })
      ->add_option("name", o->name, "proxy name")
      ->required();

  CLI::App* toxic = registry.add(ctl, "toxic", "Add, update or remove a toxic", nullptr);
  toxic->require_subcommand(1);
  auto* add = registry.add(toxic, "add", "Add a toxic", [o] { return cmd_toxic_add(*o); });
  add->add_option("name", o->name, "proxy name")->required();
  add->add_option("--type,-t", o->type, "toxic type: " + builtin_type_names())->required();
  add->add_option("--toxic-name,-n", o->toxic_name, "toxic name (default <type>_<stream>)");
  add->add_option("--stream,-s", o->stream, "upstream or downstream (default downstream)");
  add->add_option("--toxicity", o->toxicity, "probability 0..1 (default 1)");
  add->add_option("--attribute,-a", o->attributes, "KEY=VALUE (repeatable)");
  auto* update =
      registry.add(toxic, "update", "Update a toxic", [o] { return cmd_toxic_update(*o); });
  update->add_option("name", o->name, "proxy name")->required();
  update->add_option("--toxic-name,-n", o->toxic_name, "toxic name")->required();
  update->add_option("--toxicity", o->toxicity, "probability 0..1");
  update->add_option("--attribute,-a", o->attributes, "KEY=VALUE (repeatable)");
  auto* remove =
      registry.add(toxic, "remove", "Remove a toxic", [o] { return cmd_toxic_remove(*o); });
  remove->add_option("name", o->name, "proxy name")->required();
  remove->add_option("--toxic-name,-n", o->toxic_name, "toxic name")->required();
}

}  // namespace faultline::proxy
