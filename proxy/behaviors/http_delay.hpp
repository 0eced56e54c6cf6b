// Registration of the `http_delay` behavior (see http_delay.cpp).
#pragma once

#include "proxy/behavior.hpp"

namespace faultline::proxy {

void register_http_delay(Registry& registry);

}  // namespace faultline::proxy
