// The list of built-in behaviors: one `X(name)` line per behavior, each defined by
// `void register_<name>(Registry&)` in proxy/behaviors/<name>.cpp (CMake globs that folder). The
// list both declares the register functions and calls them, in this order.
#include "proxy/behaviors/builtin.hpp"

// Toxiproxy's set (same names, attributes and units), Vaurien's set, HTTP request faults
// (Envoy-style), Redis command faults; last the wrappers, which wrap any of the above.
#define FAULTLINE_PROXY_BEHAVIORS(X) \
  X(latency)                         \
  X(bandwidth)                       \
  X(slow_close)                      \
  X(timeout)                         \
  X(reset_peer)                      \
  X(slicer)                          \
  X(limit_data)                      \
  X(noop)                            \
  X(hang)                            \
  X(blackout)                        \
  X(abort)                           \
  X(corrupt)                         \
  X(http_error)                      \
  X(http_delay)                      \
  X(http_abort)                      \
  X(http_body_delay)                 \
  X(http_body_truncate)              \
  X(http_body_rate)                  \
  X(sse_drop_event)                  \
  X(sse_delay_event)                 \
  X(http_rewrite)                    \
  X(ws_close)                        \
  X(ws_drop_message)                 \
  X(ws_delay_message)                \
  X(ws_corrupt)                      \
  X(redis_error)                     \
  X(redis_delay)                     \
  X(tls_handshake_delay)             \
  X(tls_alert)                       \
  X(tls_bad_cert)                    \
  X(transient)                       \
  X(weighted)

namespace faultline::proxy {

#define FAULTLINE_DECLARE_BEHAVIOR(name) void register_##name(Registry& registry);
FAULTLINE_PROXY_BEHAVIORS(FAULTLINE_DECLARE_BEHAVIOR)
#undef FAULTLINE_DECLARE_BEHAVIOR

void register_builtin_behaviors(Registry& registry) {
#define FAULTLINE_REGISTER_BEHAVIOR(name) register_##name(registry);
  FAULTLINE_PROXY_BEHAVIORS(FAULTLINE_REGISTER_BEHAVIOR)
#undef FAULTLINE_REGISTER_BEHAVIOR
}

const Registry& builtin_registry() {
  static const Registry registry = [] {
    Registry r;
    register_builtin_behaviors(r);
    return r;
  }();
  return registry;
}

}  // namespace faultline::proxy
