// GeneratorRegistry and the built-in registry: see generator.hpp.
#include "loadgen/generator.hpp"

#include <stdexcept>

namespace faultline::loadgen {

const GeneratorRegistry& builtin_generators() {
  static const GeneratorRegistry registry = [] {
    GeneratorRegistry r;
    register_builtin_generators(r);
    return r;
  }();
  return registry;
}

void GeneratorRegistry::add(GeneratorType type) {
  const std::string name = type.name;
  if (!types_.emplace(name, std::move(type)).second)
    throw std::logic_error("load generator \"" + name + "\" registered twice");
}

const GeneratorType* GeneratorRegistry::find(std::string_view name) const {
  const auto it = types_.find(name);
  return it == types_.end() ? nullptr : &it->second;
}

std::vector<std::string> GeneratorRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, type] : types_)
    out.push_back(name);
  return out;
}

}  // namespace faultline::loadgen
