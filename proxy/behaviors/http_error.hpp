// Registration of the `http_error` behavior (see http_error.cpp).
#pragma once

#include "proxy/behavior.hpp"

namespace faultline::proxy {

void register_http_error(Registry& registry);

}  // namespace faultline::proxy
