// Registration of the `redis_delay` behavior (see redis_delay.cpp).
#pragma once

#include "proxy/behavior.hpp"

namespace faultline::proxy {

void register_redis_delay(Registry& registry);

}  // namespace faultline::proxy
