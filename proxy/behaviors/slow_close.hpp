// Registration of the `slow_close` behavior (Toxiproxy-compatible attributes; see slow_close.cpp).
#pragma once

#include "proxy/behavior.hpp"

namespace faultline::proxy {

void register_slow_close(Registry& registry);

}  // namespace faultline::proxy
