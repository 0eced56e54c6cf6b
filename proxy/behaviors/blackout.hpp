// Registration of the `blackout` behavior (see blackout.cpp).
#pragma once

#include "proxy/behavior.hpp"

namespace faultline::proxy {

void register_blackout(Registry& registry);

}  // namespace faultline::proxy
