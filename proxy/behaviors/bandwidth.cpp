// `bandwidth`: limits a direction to `rate` KB/s (1 KB = 1000 bytes, as Toxiproxy). Chunks are cut
// into pieces of at most 100 ms worth of bytes so the flow is smooth; rate 0 means unlimited.
#include "proxy/behavior.hpp"

#include <algorithm>

namespace faultline::proxy {

namespace {

// 1 TB/s: far above any link, and rate * 1000 bytes and n * 10^9 / rate stay far from overflow.
constexpr std::int64_t kMaxRateKBps = 1'000'000'000;

class BandwidthStage : public StreamStage {
 public:
  explicit BandwidthStage(std::int64_t rate_kbps) : bytes_per_second_(rate_kbps * 1000) {}
  void on_data(std::vector<Piece>& pieces, Clock::time_point /*now*/,
               StreamEffects& /*fx*/) override {
    if (bytes_per_second_ <= 0) return;
    const auto max_piece =
        static_cast<std::size_t>(std::max<std::int64_t>(1, bytes_per_second_ / 10));
    std::vector<Piece> out;
    for (auto& p : pieces) {
      std::size_t off = 0;
      while (off < p.bytes.size()) {
        const std::size_t n = std::min(max_piece, p.bytes.size() - off);
        // The link is busy until `free_`; this piece takes n / rate seconds after that.
        const Clock::time_point start = std::max(p.due, free_);
        const auto cost = std::chrono::nanoseconds(static_cast<std::int64_t>(n) * 1'000'000'000 /
                                                   bytes_per_second_);
        free_ = start + cost;
        out.push_back({free_, p.bytes.substr(off, n)});
        off += n;
      }
    }
    pieces = std::move(out);
  }

 private:
  std::int64_t bytes_per_second_;
  Clock::time_point free_{};
};

class BandwidthConfig : public BehaviorConfig {
 public:
  explicit BandwidthConfig(std::int64_t rate) : rate_(rate) {}
  json attributes() const override { return {{"rate", rate_}}; }
  std::unique_ptr<StreamStage> make_stream_stage(Rng&, Clock::time_point) const override {
    return std::make_unique<BandwidthStage>(rate_);
  }

 private:
  std::int64_t rate_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(attrs, path, {"rate"}, errors);
  return std::make_shared<BandwidthConfig>(
      attr_nonneg_int(attrs, path, "rate", 0, errors, kMaxRateKBps));
}

}  // namespace

void register_bandwidth(Registry& registry) {
  registry.add(
      {.name = "bandwidth",
       .description = "limit the direction to rate KB/s (0 = unlimited)",
       .parse = parse,
       .http = false,
       .redis = false,
       .toxiproxy = ToxiproxyAttributes{
           .known = {"rate"}, .negative_as_zero = {"rate"}, .at_most = {{"rate", kMaxRateKBps}}}});
}

}  // namespace faultline::proxy
