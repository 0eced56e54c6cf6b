// Hands an accepted client connection to the engine of its proxy's protocol.
#pragma once

#include <memory>

#include "common/net.hpp"
#include "proxy/proxy.hpp"

namespace faultline::proxy {

void start_session(std::shared_ptr<Proxy> proxy, tcp::socket client);

// Protocols this build can proxy (parse_proxy rejects the others).
bool protocol_supported(Protocol p);

}  // namespace faultline::proxy
