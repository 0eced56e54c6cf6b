// Registration of the `weighted` behavior (see weighted.cpp).
#pragma once

#include "proxy/behavior.hpp"

namespace faultline::proxy {

void register_weighted(Registry& registry);

}  // namespace faultline::proxy
