// The config every body behavior (http_body_*, sse_*) shares: its BodyFaultSpec, the attributes
// the API echoes, and the HTTP request match. A matching request gets a Kind::body fault carrying
// the spec, on the toxic's stream; the spec makes the stage per exchange (body_pipeline.hpp).
#pragma once

#include <memory>
#include <utility>

#include "proxy/behavior.hpp"
#include "proxy/behaviors/match.hpp"

namespace faultline::proxy {

class BodyBehaviorConfig : public BehaviorConfig {
 public:
  // `attrs`: the behavior's own attributes, defaults filled in (the match ones are added).
  BodyBehaviorConfig(std::shared_ptr<const BodyFaultSpec> spec, json attrs, RequestMatch match)
      : spec_(std::move(spec)), attrs_(std::move(attrs)), match_(std::move(match)) {
    match_.add_to(attrs_);
  }
  json attributes() const override { return attrs_; }
  bool matches(const RequestInfo& req) const override { return match_.matches(req); }
  bool per_event() const override { return spec_->per_event(); }
  RequestFault request_fault(Rng&, Stream stream) const override {
    RequestFault f;
    f.kind = RequestFault::Kind::body;
    f.body_fault = spec_;
    f.stream = stream;
    return f;
  }

 private:
  std::shared_ptr<const BodyFaultSpec> spec_;
  json attrs_;
  RequestMatch match_;
};

}  // namespace faultline::proxy
