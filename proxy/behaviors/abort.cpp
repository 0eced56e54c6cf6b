// `abort` (Vaurien): forwards the request, then cuts the connection instead of answering. tcp:
// stream upstream: the first chunk (the request) is delivered, then both sides are closed; stream
// downstream: the first chunk of the answer is dropped and both sides are closed; http/redis: the
// request reaches the upstream and the client gets no response.
#include "proxy/behavior.hpp"

namespace faultline::proxy {

namespace {

class AbortStage : public StreamStage {
 public:
  void on_data(std::vector<Piece>& pieces, Clock::time_point now, StreamEffects& fx) override {
    if (done_) {
      pieces.clear();
      return;
    }
    done_ = true;
    if (stream == Stream::downstream) {
      // The server's answer: cut instead of delivering it (Vaurien's abort never answers).
      pieces.clear();
      fx.close_at = now;
      return;
    }
    fx.close_at = pieces.empty() ? now : pieces.back().due;
  }

 private:
  bool done_ = false;
};

class AbortConfig : public BehaviorConfig {
 public:
  json attributes() const override { return json::object(); }
  std::unique_ptr<StreamStage> make_stream_stage(Rng&, Clock::time_point) const override {
    return std::make_unique<AbortStage>();
  }
  RequestFault request_fault(Rng&, Stream) const override {
    RequestFault f;
    f.kind = RequestFault::Kind::abort_upstream;
    return f;
  }
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(attrs, path, {}, errors);
  return std::make_shared<AbortConfig>();
}

}  // namespace

void register_abort(Registry& registry) {
  registry.add({.name = "abort",
                .description = "forward the request, then cut the connection",
                .parse = parse});
}

}  // namespace faultline::proxy
