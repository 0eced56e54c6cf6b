// One line per built-in behavior.
#include "proxy/behaviors/builtin.hpp"

#include "proxy/behaviors/abort.hpp"
#include "proxy/behaviors/bandwidth.hpp"
#include "proxy/behaviors/blackout.hpp"
#include "proxy/behaviors/corrupt.hpp"
#include "proxy/behaviors/hang.hpp"
#include "proxy/behaviors/http_abort.hpp"
#include "proxy/behaviors/http_delay.hpp"
#include "proxy/behaviors/http_error.hpp"
#include "proxy/behaviors/latency.hpp"
#include "proxy/behaviors/limit_data.hpp"
#include "proxy/behaviors/redis_delay.hpp"
#include "proxy/behaviors/redis_error.hpp"
#include "proxy/behaviors/reset_peer.hpp"
#include "proxy/behaviors/slicer.hpp"
#include "proxy/behaviors/slow_close.hpp"
#include "proxy/behaviors/timeout.hpp"
#include "proxy/behaviors/transient.hpp"
#include "proxy/behaviors/weighted.hpp"

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
  // Vaurien's set.
  register_hang(registry);
  register_blackout(registry);
  register_abort(registry);
  register_corrupt(registry);
  // HTTP request faults (Envoy-style).
  register_http_error(registry);
  register_http_delay(registry);
  register_http_abort(registry);
  // Redis command faults.
  register_redis_error(registry);
  register_redis_delay(registry);
  // Last: they wrap any of the above.
  register_transient(registry);
  register_weighted(registry);
}

}  // namespace faultline::proxy
