// One line per built-in behavior.
#include "proxy/behaviors/builtin.hpp"

#include "proxy/behaviors/bandwidth.hpp"
#include "proxy/behaviors/latency.hpp"
#include "proxy/behaviors/limit_data.hpp"
#include "proxy/behaviors/reset_peer.hpp"
#include "proxy/behaviors/slicer.hpp"
#include "proxy/behaviors/slow_close.hpp"
#include "proxy/behaviors/timeout.hpp"

namespace faultline::proxy {

void register_builtin_behaviors(Registry& registry) {
  // Toxiproxy's set (same names, attributes and units).
  register_latency(registry);
  register_bandwidth(registry);
  register_slow_close(registry);
  register_timeout(registry);
  register_reset_peer(registry);
  register_slicer(registry);
  register_limit_data(registry);
}

}  // namespace faultline::proxy
