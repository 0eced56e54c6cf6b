// Registration of the `transient` behavior (see transient.cpp).
#pragma once

#include "proxy/behavior.hpp"

namespace faultline::proxy {

void register_transient(Registry& registry);

}  // namespace faultline::proxy
