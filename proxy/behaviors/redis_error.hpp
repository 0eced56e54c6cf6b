// Registration of the `redis_error` behavior (see redis_error.cpp).
#pragma once

#include "proxy/behavior.hpp"

namespace faultline::proxy {

void register_redis_error(Registry& registry);

}  // namespace faultline::proxy
