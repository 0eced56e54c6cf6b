// Registration of the `limit_data` behavior (Toxiproxy-compatible attributes; see limit_data.cpp).
#pragma once

#include "proxy/behavior.hpp"

namespace faultline::proxy {

void register_limit_data(Registry& registry);

}  // namespace faultline::proxy
