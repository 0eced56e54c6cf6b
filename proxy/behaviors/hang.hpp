// Registration of the `hang` behavior (see hang.cpp).
#pragma once

#include "proxy/behavior.hpp"

namespace faultline::proxy {

void register_hang(Registry& registry);

}  // namespace faultline::proxy
