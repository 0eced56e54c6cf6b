// The list of behaviors faultline ships with, registered explicitly (no self-registering globals).
#pragma once

#include "proxy/behavior.hpp"

namespace faultline::proxy {

void register_builtin_behaviors(Registry& registry);

}  // namespace faultline::proxy
