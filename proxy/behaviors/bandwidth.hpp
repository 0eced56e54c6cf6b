// Registration of the `bandwidth` behavior (Toxiproxy-compatible attributes; see bandwidth.cpp).
#pragma once

#include "proxy/behavior.hpp"

namespace faultline::proxy {

void register_bandwidth(Registry& registry);

}  // namespace faultline::proxy
