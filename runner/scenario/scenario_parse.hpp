// Internal to the scenario parser, split by concern: scenario.cpp (the document, overrides,
// --duration), scenario_services.cpp (target, proxies and their initial toxics), scenario_load.cpp
// (load, workload, stages), scenario_timeline.cpp (actions, simulated toxic state). Toxics, stages
// and workloads are validated with the proxy's and the load generator's own code: one owner for
// every rule.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "proxy/behavior.hpp"
#include "proxy/behaviors/builtin.hpp"
#include "runner/scenario/placeholders.hpp"
#include "runner/scenario/scenario.hpp"

namespace faultline::runner::scenario_detail {

bool valid_name(const std::string& s);
std::vector<std::string> get_string_list(const json& obj, const std::string& path, const char* key,
                                         ConfigErrors& errors);
const json* get_object(const json& obj, const std::string& path, const char* key,
                       ConfigErrors& errors, bool required = false);

// One proxy at one point of the timeline, simulated once at parse time: its toxics by name and
// whether it is disabled. A toxic whose object was invalid (already reported) is kept by name with
// no value, so the actions that name it later are not reported a second time.
struct ProxyState {
  std::optional<proxy::Protocol> protocol;  // nullopt: the proxy's protocol was invalid
  std::map<std::string, std::optional<proxy::Toxic>> toxics;
  bool disabled = false;
};
using ProxyStates = std::map<std::string, ProxyState>;

// A toxic object checked with proxy::parse_toxic for `state`'s protocol.
struct ParsedToxic {
  std::string name;                   // the toxic's name (proxy::default_toxic_name when absent)
  std::optional<proxy::Toxic> toxic;  // nullopt after recording errors
};
// nullopt when not even the toxic's name can be told (errors recorded).
std::optional<ParsedToxic> parse_scenario_toxic(const json& body, const std::string& path,
                                                const ProxyState& state, ConfigErrors& errors);

// "http://HOST[:PORT][/path]" (common/url.hpp; port 80 and path "/" when absent).
struct HttpUrl {
  HostPort address;
  std::string path;
};
std::optional<HttpUrl> parse_http_url(const std::string& url);

// services.processes (scenario_processes.cpp).
void parse_processes(const json& arr, const std::string& path, Scenario& s, ConfigErrors& errors);
// Fills s.start_order from the `after` lists (their JSON paths by node name: "target", a proxy or
// process name) and the implicit edges; records unknown names and cycles.
void compute_start_order(Scenario& s, const std::map<std::string, std::string>& after_paths,
                         ConfigErrors& errors);

// Placeholders (scenario_resolve.cpp): records unknown names at their paths; stand-in values that
// let the members be validated before the real ones are known.
// Every services.processes[].files entry {"template": P} replaced by the text of P (relative to
// `base_dir`), and every {"copy": P} given P's absolute path, both files checked (regular, at most
// 4 MiB); errors at the entry's path. Done before the placeholders are scanned, so a template's
// ${...} are checked and substituted like the scenario's own.
json expand_file_templates(const json& raw, const std::string& base_dir, ConfigErrors& errors);
// $.vars: NAME -> its text (numbers and booleans as written); errors at $.vars.NAME.
std::map<std::string, std::string> parse_vars(const json& doc, ConfigErrors& errors);
void check_placeholder_names(const json& doc, const std::vector<PlaceholderUse>& uses,
                             const std::map<std::string, std::string>& vars, ConfigErrors& errors);
std::map<std::string, std::string> placeholder_stand_ins(const std::vector<PlaceholderUse>& uses);
// ${tls.ca}, ${tls.cert}, ... → their file names in the run's PKI directory (${out}/tls).
const std::map<std::string, std::string>& tls_pki_files();
// Sets every ${tls.*} value to its file under OUT_DIR/tls.
void add_tls_values(std::map<std::string, std::string>& values, const std::string& out_dir);

void parse_target(const json& t, const std::string& path, Scenario& s, ConfigErrors& errors);
void parse_proxies(const json& arr, const std::string& path, Scenario& s, ProxyStates& states,
                   ConfigErrors& errors);
void parse_load(const json& l, const std::string& path, const std::string& base_dir, Scenario& s,
                ConfigErrors& errors);
void parse_timeline(const json& arr, const std::string& path, Scenario& s, ProxyStates& states,
                    ConfigErrors& errors);

}  // namespace faultline::runner::scenario_detail
