// `http_body_truncate` (protocol http): the body of a matching exchange is cut after `bytes`
// bytes, as by a server dying mid-body. Stream downstream (the default): once a response body
// byte beyond `bytes` arrives, the client's connection is closed (`mode` "close": FIN, "reset":
// RST) without the rest — no last chunk, short of the Content-Length — and the upstream's is
// dropped. Stream upstream: the request body is cut there, the upstream's connection closed, and
// the client answered 502. A body of at most `bytes` bytes passes whole.
#include <fmt/format.h>

#include "proxy/behavior.hpp"
#include "proxy/behaviors/body_behavior.hpp"

namespace faultline::proxy {

namespace {

class BodyTruncateStage : public StreamStage {
 public:
  BodyTruncateStage(std::int64_t bytes, bool reset)
      : remaining_(static_cast<std::uint64_t>(bytes)), reset_(reset) {}
  void on_data(std::vector<Piece>& pieces, Clock::time_point /*now*/, StreamEffects& fx) override {
    if (cut_) {
      pieces.clear();
      return;
    }
    std::vector<Piece> out;
    for (auto& p : pieces) {
      if (p.bytes.size() <= remaining_) {
        remaining_ -= p.bytes.size();
        out.push_back(std::move(p));
        continue;
      }
      // The first byte beyond the limit: what fits goes out, then the connection is cut.
      p.bytes.resize(static_cast<std::size_t>(remaining_));
      remaining_ = 0;
      cut_ = true;
      const Clock::time_point at = p.due;
      if (!p.bytes.empty()) out.push_back(std::move(p));
      (reset_ ? fx.reset_at : fx.close_at) = at;
      break;
    }
    pieces = std::move(out);
  }

 private:
  std::uint64_t remaining_;
  bool reset_;
  bool cut_ = false;
};

class BodyTruncateSpec : public BodyFaultSpec {
 public:
  BodyTruncateSpec(std::int64_t bytes, bool reset) : bytes_(bytes), reset_(reset) {}
  std::unique_ptr<StreamStage> make(Rng&, Clock::time_point) const override {
    return std::make_unique<BodyTruncateStage>(bytes_, reset_);
  }

 private:
  std::int64_t bytes_;
  bool reset_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_http_keys(attrs, path, {"bytes", "mode"}, errors);
  const auto bytes = attr_nonneg_int(attrs, path, "bytes", 0, errors);
  bool reset = false;
  if (auto m = get_string(attrs, path, "mode", errors)) {
    if (*m == "reset")
      reset = true;
    else if (*m != "close")
      errors.add(path_join(path, "mode"),
                 fmt::format("must be \"close\" or \"reset\", got \"{}\"", *m));
  }
  return std::make_shared<BodyBehaviorConfig>(
      std::make_shared<BodyTruncateSpec>(bytes, reset),
      json{{"bytes", bytes}, {"mode", reset ? "reset" : "close"}},
      parse_http_match(attrs, path, errors));
}

}  // namespace

void register_http_body_truncate(Registry& registry) {
  registry.add({.name = "http_body_truncate",
                .description = "cut a body after bytes bytes, closing the connection (a server "
                               "dying mid-body)",
                .parse = parse,
                .tcp = false,
                .redis = false});
}

}  // namespace faultline::proxy
