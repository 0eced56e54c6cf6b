// The built-in load workload generators: one X(NAME) per plug-in (loadgen/generators/NAME.cpp
// defines register_NAME). This list both declares and calls the register functions, so adding a
// generator is one file plus one line here.
#include "loadgen/generator.hpp"

#define FAULTLINE_LOAD_GENERATORS(X) X(paste) X(solve) X(vanity) X(story)

namespace faultline::loadgen {

#define FAULTLINE_DECLARE_GENERATOR(NAME) void register_##NAME(GeneratorRegistry& registry);
FAULTLINE_LOAD_GENERATORS(FAULTLINE_DECLARE_GENERATOR)
#undef FAULTLINE_DECLARE_GENERATOR

void register_builtin_generators(GeneratorRegistry& registry) {
#define FAULTLINE_REGISTER_GENERATOR(NAME) register_##NAME(registry);
  FAULTLINE_LOAD_GENERATORS(FAULTLINE_REGISTER_GENERATOR)
#undef FAULTLINE_REGISTER_GENERATOR
}

}  // namespace faultline::loadgen
