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

// The message faults of one WebSocket message, combined in toxic order (drop wins, delays add),
// with the fault slots they hold until the message is relayed.
struct PickedMessage {
  MessageFault fault;
  std::vector<FaultSlot> slots;
};

// ws_close drawn for one relayed WebSocket, with its slot (held for the connection) and counter
// (counted when it acts).
struct PickedWsClose {
  WsClose plan;
  Stream stream = Stream::downstream;
  FaultSlot slot;
  prometheus::Counter* counter = nullptr;
};

class RequestFaultPicker {
 public:
  RequestFaultPicker(Proxy& proxy, std::uint64_t seed) : proxy_(proxy), rng_(seed) {}
  std::vector<PickedFault> pick(const RequestInfo& req);
  // WebSocket relays: the faults of one message (the toxics of the current snapshot whose
  // stream is the message's and whose match accepts the `upgrade` request), each drawn per
  // message (scope request) or once per connection, counted when hit.
  PickedMessage pick_message(const RequestInfo& upgrade, const MessageInfo& m);
  // WebSocket relays, at the upgrade: the first ws_close toxic that matches and draws hit.
  std::optional<PickedWsClose> pick_ws_close(const RequestInfo& upgrade);
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
