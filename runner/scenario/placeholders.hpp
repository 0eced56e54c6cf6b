// Scenario placeholders: `${port.NAME}` (a free loopback port picked once per NAME), `${out}`,
// `${scenario_dir}`, `${faultline}`, `${target.url}`, `${proxies.NAME.listen}`, `${redis.I.port}`,
// anywhere in a string of the scenario except the embedded workload (`$.load.workload`, whose
// `${...}` are the load generator's own templates). `$${` is a literal `${`.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/config.hpp"

namespace faultline::runner {

struct PlaceholderUse {
  std::string name;  // "port.db", "out", ...
  std::string path;  // JSON path of the string it is in
};

// Every placeholder in `doc`, in document order; an unterminated `${` or an empty name is recorded
// as an error at its path.
std::vector<PlaceholderUse> find_placeholders(const json& doc, ConfigErrors& errors);

// `doc` with every `${NAME}` that `values` has replaced (others are left as they are) and `$${`
// turned into `${`.
json substitute_placeholders(const json& doc, const std::map<std::string, std::string>& values);

}  // namespace faultline::runner
