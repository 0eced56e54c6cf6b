// Registration of the `corrupt` behavior (see corrupt.cpp).
#pragma once

#include "proxy/behavior.hpp"

namespace faultline::proxy {

void register_corrupt(Registry& registry);

}  // namespace faultline::proxy
