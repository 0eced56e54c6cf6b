// The list of behaviors faultline ships with, registered explicitly (no self-registering globals).
#pragma once

#include "proxy/behavior.hpp"

namespace faultline::proxy {

void register_builtin_behaviors(Registry& registry);
// A registry holding exactly the builtin behaviors, built once (thread-safe) and never changed:
// for code that parses toxics without adding behaviors of its own (scenarios, fuzz targets).
const Registry& builtin_registry();

}  // namespace faultline::proxy
