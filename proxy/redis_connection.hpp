// A protocol-redis proxied connection (see redis_connection.cpp).
#pragma once

#include <memory>

#include "common/net.hpp"
#include "proxy/proxy.hpp"

namespace faultline::proxy {

void start_redis_connection(std::shared_ptr<Proxy> proxy, tcp::socket client);

}  // namespace faultline::proxy
