// Hands an accepted client connection to the engine of its proxy's protocol.
#pragma once

#include <memory>

#include "common/net.hpp"
#include "proxy/proxy.hpp"

namespace faultline::proxy {

void start_session(std::shared_ptr<Proxy> proxy, tcp::socket client);

}  // namespace faultline::proxy
