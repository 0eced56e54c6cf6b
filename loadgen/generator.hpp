// Load workload generator plug-ins: a workload entry {"name", "generator": KIND, ...} runs a
// built-in generator, one .cpp file per KIND under loadgen/generators/. A plug-in defines
// `void register_KIND(GeneratorRegistry&)` (namespace faultline::loadgen) and is listed once in
// FAULTLINE_LOAD_GENERATORS (generators/builtin.cpp); CMake picks generators/*.cpp up by itself.
// A factory reads its own JSON members (every error at its JSON path), registers the request
// names it records under, and returns the generator the engine runs once per iteration.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.hpp"
#include "loadgen/exchange.hpp"
#include "loadgen/workload.hpp"

namespace faultline::loadgen {

// Builds a generator from its workload entry `spec` (at JSON path `path`, entry name `name`);
// records errors in `errors` (the result is then discarded).
using GeneratorFactory = std::function<std::unique_ptr<Generator>(
    const json& spec, std::string_view path, const std::string& name, Workload& w,
    ConfigErrors& errors)>;

struct GeneratorType {
  std::string name;         // the "generator" value in a workload entry
  std::string description;  // one line: what it sends and the names its stats are kept under
  GeneratorFactory make;
};

class GeneratorRegistry {
 public:
  // Adds `type`; a second type with the same name is a programming error (throws logic_error).
  void add(GeneratorType type);
  const GeneratorType* find(std::string_view name) const;
  // Every registered name, sorted.
  std::vector<std::string> names() const;

 private:
  std::map<std::string, GeneratorType, std::less<>> types_;
};

// Registers every built-in generator (the FAULTLINE_LOAD_GENERATORS list).
void register_builtin_generators(GeneratorRegistry& registry);
// The registry with every built-in generator (built once).
const GeneratorRegistry& builtin_generators();

}  // namespace faultline::loadgen
