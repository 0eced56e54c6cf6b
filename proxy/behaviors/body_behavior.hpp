// The config the HTTP response-side behaviors share (http_body_*, sse_*, http_rewrite): a fault
// made whole at parse time, the attributes the API echoes, and the HTTP request match. A matching
// request gets that fault on the toxic's stream: Kind::body carrying a BodyFaultSpec, whose stage
// is made per exchange (body_pipeline.hpp), or Kind::rewrite carrying a ResponseRewrite.
#pragma once

#include <memory>
#include <utility>

#include "proxy/behavior.hpp"
#include "proxy/behaviors/match.hpp"

namespace faultline::proxy {

class BodyBehaviorConfig : public BehaviorConfig {
 public:
  // `attrs`: the behavior's own attributes, defaults filled in (the match ones are added).
  BodyBehaviorConfig(RequestFault fault, json attrs, RequestMatch match)
      : fault_(std::move(fault)), attrs_(std::move(attrs)), match_(std::move(match)) {
    match_.add_to(attrs_);
  }
  // A body behavior: Kind::body with `spec`.
  BodyBehaviorConfig(std::shared_ptr<const BodyFaultSpec> spec, json attrs, RequestMatch match)
      : BodyBehaviorConfig(body_fault(std::move(spec)), std::move(attrs), std::move(match)) {}
  json attributes() const override { return attrs_; }
  bool matches(const RequestInfo& req) const override { return match_.matches(req); }
  bool per_event() const override { return fault_.body_fault && fault_.body_fault->per_event(); }
  RequestFault request_fault(Rng&, Stream stream) const override {
    RequestFault f = fault_;
    f.stream = stream;
    return f;
  }

 private:
  static RequestFault body_fault(std::shared_ptr<const BodyFaultSpec> spec) {
    RequestFault f;
    f.kind = RequestFault::Kind::body;
    f.body_fault = std::move(spec);
    return f;
  }
  RequestFault fault_;
  json attrs_;
  RequestMatch match_;
};

}  // namespace faultline::proxy
