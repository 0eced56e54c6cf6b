// Registration of the `latency` behavior (Toxiproxy-compatible attributes; see latency.cpp).
#pragma once

#include "proxy/behavior.hpp"

namespace faultline::proxy {

void register_latency(Registry& registry);

}  // namespace faultline::proxy
