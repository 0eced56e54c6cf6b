// Per-connection fault draws for request-aware proxies (http, redis): for each request, every
// toxic whose matching rules accept it is drawn (scope request: per request; scope connection:
// once per connection, as Toxiproxy) and, when hit and within max_active_faults, yields its fault.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "proxy/proxy.hpp"

namespace faultline::proxy {

struct PickedFault {
  RequestFault fault;
  FaultSlot slot;  // held while the request is being served
  std::string kind;
};

class RequestFaultPicker {
 public:
  RequestFaultPicker(Proxy& proxy, std::uint64_t seed) : proxy_(proxy), rng_(seed) {}
  std::vector<PickedFault> pick(const RequestInfo& req);
  Rng& rng() noexcept { return rng_; }

 private:
  Proxy& proxy_;
  Rng rng_;
  std::map<std::shared_ptr<const ProxyToxic>, bool> connection_draws_;
};

// Folds the picked faults into one plan: summed delays before the request and before the
// response, the first terminal fault (error, abort, hang) if any, and the body faults of each
// direction and the response rewrites in toxic order.
struct RequestPlan {
  Clock::duration delay_request{};
  Clock::duration delay_response{};
  Clock::duration delay_response_from_arrival{};  // Redis "network" delays (RequestFault)
  const RequestFault* terminal = nullptr;
  std::vector<const RequestFault*> body_up;    // on the request body
  std::vector<const RequestFault*> body_down;  // on the response body
  std::vector<const RequestFault*> rewrites;   // http_rewrite, in toxic order
};
RequestPlan plan_of(const std::vector<PickedFault>& faults);

// Adds an injected delay `d` to the proxy's injected-delay counter (seconds).
void count_injected_delay(Proxy& proxy, Clock::duration d);

}  // namespace faultline::proxy
