// Registration of the `timeout` behavior (Toxiproxy-compatible attributes; see timeout.cpp).
#pragma once

#include "proxy/behavior.hpp"

namespace faultline::proxy {

void register_timeout(Registry& registry);

}  // namespace faultline::proxy
