// A protocol-http proxied connection (see http_connection.cpp).
#pragma once

#include <memory>

#include "common/net.hpp"
#include "proxy/proxy.hpp"

namespace faultline::proxy {

void start_http_connection(std::shared_ptr<Proxy> proxy, tcp::socket client);

}  // namespace faultline::proxy
