// Registration of the `slicer` behavior (Toxiproxy-compatible attributes; see slicer.cpp).
#pragma once

#include "proxy/behavior.hpp"

namespace faultline::proxy {

void register_slicer(Registry& registry);

}  // namespace faultline::proxy
