// Registration of the `reset_peer` behavior (Toxiproxy-compatible attributes; see reset_peer.cpp).
#pragma once

#include "proxy/behavior.hpp"

namespace faultline::proxy {

void register_reset_peer(Registry& registry);

}  // namespace faultline::proxy
