// Registration of the `abort` behavior (see abort.cpp).
#pragma once

#include "proxy/behavior.hpp"

namespace faultline::proxy {

void register_abort(Registry& registry);

}  // namespace faultline::proxy
