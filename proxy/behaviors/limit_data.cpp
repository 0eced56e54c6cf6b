// `limit_data`: closes the connection once `bytes` bytes have passed in the direction (the bytes
// beyond the limit are not delivered).
#include "proxy/behavior.hpp"

namespace faultline::proxy {

namespace {

class LimitDataStage : public StreamStage {
 public:
  explicit LimitDataStage(std::int64_t bytes) : remaining_(static_cast<std::uint64_t>(bytes)) {}
  void on_data(std::vector<Piece>& pieces, Clock::time_point now, StreamEffects& fx) override {
    std::vector<Piece> out;
    for (auto& p : pieces) {
      if (remaining_ == 0) break;
      if (p.bytes.size() > remaining_) p.bytes.resize(remaining_);
      remaining_ -= p.bytes.size();
      out.push_back(std::move(p));
    }
    pieces = std::move(out);
    if (remaining_ == 0 && !closed_) {
      closed_ = true;
      fx.close_at = pieces.empty() ? now : pieces.back().due;
    }
  }

 private:
  std::uint64_t remaining_;
  bool closed_ = false;
};

class LimitDataConfig : public BehaviorConfig {
 public:
  explicit LimitDataConfig(std::int64_t bytes) : bytes_(bytes) {}
  json attributes() const override { return {{"bytes", bytes_}}; }
  // HTTP proxies: acts on upgraded (WebSocket) connections, as on a tcp connection.
  std::unique_ptr<StreamStage> make_upgraded_stage(Rng& rng, Clock::time_point now) const override {
    return make_stream_stage(rng, now);
  }
  std::unique_ptr<StreamStage> make_stream_stage(Rng&, Clock::time_point) const override {
    return std::make_unique<LimitDataStage>(bytes_);
  }

 private:
  std::int64_t bytes_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(attrs, path, {"bytes"}, errors);
  return std::make_shared<LimitDataConfig>(attr_nonneg_int(attrs, path, "bytes", 0, errors));
}

}  // namespace

void register_limit_data(Registry& registry) {
  registry.add(
      {.name = "limit_data",
       .description = "close the connection after bytes bytes in the direction",
       .parse = parse,
       .redis = false,
       .toxiproxy = ToxiproxyAttributes{.known = {"bytes"}, .negative_as_zero = {"bytes"}}});
}

}  // namespace faultline::proxy
