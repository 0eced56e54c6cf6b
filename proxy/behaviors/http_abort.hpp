// Registration of the `http_abort` behavior (see http_abort.cpp).
#pragma once

#include "proxy/behavior.hpp"

namespace faultline::proxy {

void register_http_abort(Registry& registry);

}  // namespace faultline::proxy
