// Request-scoped fault draws (see request_faults.hpp).
#include "proxy/request_faults.hpp"

namespace faultline::proxy {

std::vector<PickedFault> RequestFaultPicker::pick(const RequestInfo& req) {
  std::vector<PickedFault> out;
  auto list = proxy_.toxics();
  for (const auto& t : *list) {
    if (!t->toxic.config->matches(req)) continue;
    // A per-event behavior (sse_*) is drawn by its stage for each event: drawing here too would
    // square the probability. Scope connection keeps its per-connection draw, then p = 1.
    const bool per_event = t->toxic.config->per_event();
    bool hit;
    if (t->toxic.scope == Scope::connection) {
      auto it = connection_draws_.find(t);
      if (it == connection_draws_.end())
        it = connection_draws_.emplace(t, t->toxic.probability.hit(rng_)).first;
      hit = it->second;
    } else {
      hit = per_event || t->toxic.probability.hit(rng_);
    }
    if (!hit) continue;
    RequestFault f = t->toxic.config->request_fault(rng_, t->toxic.stream);
    if (f.kind == RequestFault::Kind::none) continue;
    auto slot = proxy_.acquire_fault();
    if (!slot) continue;
    std::string kind = f.label.empty() ? t->toxic.type : f.label;
    prometheus::Counter* counter =
        f.label.empty() ? t->faults : proxy_.env().metrics.faults(proxy_.name(), f.label);
    if (per_event)
      f.event_probability =
          t->toxic.scope == Scope::connection ? Probability(1.0) : t->toxic.probability;
    if (per_event || f.kind == RequestFault::Kind::rewrite) {
      // Counted when it acts: per event by the body relay (body_pipeline.hpp), a rewrite once
      // applied (http_rewrite_relay.cpp).
      f.counter = counter;
    } else {
      counter->Increment();
    }
    out.push_back(PickedFault{std::move(f), std::move(*slot), std::move(kind)});
  }
  // Forget draws of toxics that were removed.
  for (auto it = connection_draws_.begin(); it != connection_draws_.end();) {
    if (std::find(list->begin(), list->end(), it->first) == list->end())
      it = connection_draws_.erase(it);
    else
      ++it;
  }
  return out;
}

PickedMessage RequestFaultPicker::pick_message(const RequestInfo& upgrade, const MessageInfo& m) {
  PickedMessage out;
  auto list = proxy_.toxics();
  for (const auto& t : *list) {
    if (t->toxic.stream != m.stream || !t->toxic.config->matches(upgrade)) continue;
    bool hit;
    if (t->toxic.scope == Scope::connection) {
      auto it = connection_draws_.find(t);
      if (it == connection_draws_.end())
        it = connection_draws_.emplace(t, t->toxic.probability.hit(rng_)).first;
      hit = it->second;
    } else {
      hit = t->toxic.probability.hit(rng_);
    }
    if (!hit) continue;
    auto f = t->toxic.config->message_fault(rng_, m);
    if (!f) continue;
    auto slot = proxy_.acquire_fault();
    if (!slot) continue;
    if (f->label.empty())
      t->faults->Increment();
    else
      proxy_.env().metrics.faults(proxy_.name(), f->label)->Increment();
    out.fault.drop = out.fault.drop || f->drop;
    out.fault.delay += f->delay;
    out.fault.corrupt = out.fault.corrupt || f->corrupt;
    out.slots.push_back(std::move(*slot));
  }
  return out;
}

std::optional<PickedWsClose> RequestFaultPicker::pick_ws_close(const RequestInfo& upgrade) {
  auto list = proxy_.toxics();
  for (const auto& t : *list) {
    if (!t->toxic.config->matches(upgrade)) continue;
    auto plan = t->toxic.config->ws_close();
    if (!plan) continue;
    if (!t->toxic.probability.hit(rng_)) continue;
    auto slot = proxy_.acquire_fault();
    if (!slot) continue;
    return PickedWsClose{std::move(*plan), t->toxic.stream, std::move(*slot), t->faults};
  }
  return std::nullopt;
}

RequestPlan plan_of(const std::vector<PickedFault>& faults) {
  RequestPlan plan;
  for (const auto& p : faults) {
    const auto& f = p.fault;
    if (f.kind == RequestFault::Kind::delay) {
      (f.from_arrival     ? plan.delay_response_from_arrival
       : f.after_response ? plan.delay_response
                          : plan.delay_request) += f.delay;
    } else if (f.kind == RequestFault::Kind::body) {
      (f.stream == Stream::upstream ? plan.body_up : plan.body_down).push_back(&f);
    } else if (f.kind == RequestFault::Kind::rewrite) {
      plan.rewrites.push_back(&f);
    } else if (!plan.terminal) {
      plan.terminal = &f;
    }
  }
  return plan;
}

void count_injected_delay(Proxy& proxy, Clock::duration d) {
  proxy.counters().injected_delay->Increment(std::chrono::duration<double>(d).count());
}

}  // namespace faultline::proxy
