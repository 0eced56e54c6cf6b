// `slicer`: cuts the stream into slices of `average_size` ± `size_variation` bytes sent `delay` µs
// apart (Toxiproxy semantics), to exercise clients' handling of partial reads.
#include "proxy/behavior.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace faultline::proxy {

namespace {

class SlicerStage : public StreamStage {
 public:
  // The attributes' ranges (docs/proxy.md#attribute-ranges): a slice never exceeds a read chunk,
  // so sizes beyond 2^30 would behave alike, and a delay beyond an hour per slice never ends a
  // transfer anyway; they keep 2 * variation + 1 from overflowing, and the schedule saturates.
  static constexpr std::int64_t kMaxSize = std::int64_t{1} << 30;
  static constexpr std::int64_t kMaxDelayUs = std::int64_t{3'600'000'000};
  SlicerStage(std::int64_t average, std::int64_t variation, std::int64_t delay_us, Rng rng)
      : average_(std::min(average, kMaxSize)),
        variation_(std::min(variation, kMaxSize)),
        delay_(std::chrono::microseconds(std::min(delay_us, kMaxDelayUs))),
        rng_(rng) {}
  void on_data(std::vector<Piece>& pieces, Clock::time_point, StreamEffects& fx) override {
    std::vector<Piece> out;
    for (auto& p : pieces) {
      std::size_t off = 0;
      // A chunk read while earlier slices are still scheduled continues their schedule (a bulk
      // transfer arrives as many reads; restarting at each read's arrival would let all but the
      // first read's slices through in a burst).
      Clock::time_point due = std::max(p.due, next_due_);
      fx.added_delay += due - p.due;
      bool first = true;
      while (off < p.bytes.size()) {
        std::int64_t size = average_;
        if (variation_ > 0)
          size += static_cast<std::int64_t>(
                      rng_.below(static_cast<std::uint64_t>(2 * variation_ + 1))) -
                  variation_;
        const std::size_t n = std::min(static_cast<std::size_t>(std::max<std::int64_t>(1, size)),
                                       p.bytes.size() - off);
        if (!first) {
          due = saturating_add(due, delay_);
          fx.added_delay += delay_;
        }
        first = false;
        out.push_back({due, p.bytes.substr(off, n)});
        off += n;
      }
      next_due_ = saturating_add(
          due, delay_);  // Toxiproxy waits `delay` after every slice, the last included
    }
    pieces = std::move(out);
  }

 private:
  std::int64_t average_, variation_;
  Clock::duration delay_;
  Rng rng_;
  Clock::time_point next_due_{};  // the earliest due time of the next slice
};

class SlicerConfig : public BehaviorConfig {
 public:
  SlicerConfig(std::int64_t average, std::int64_t variation, std::int64_t delay)
      : average_(average), variation_(variation), delay_(delay) {}
  json attributes() const override {
    return {{"average_size", average_}, {"size_variation", variation_}, {"delay", delay_}};
  }
  // HTTP proxies: acts on upgraded (WebSocket) connections, as on a tcp connection.
  std::unique_ptr<StreamStage> make_upgraded_stage(Rng& rng, Clock::time_point now) const override {
    return make_stream_stage(rng, now);
  }
  std::unique_ptr<StreamStage> make_stream_stage(Rng& rng, Clock::time_point) const override {
    return std::make_unique<SlicerStage>(average_, variation_, delay_, Rng(rng.next()));
  }

 private:
  std::int64_t average_, variation_, delay_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(attrs, path, {"average_size", "size_variation", "delay"}, errors);
  std::int64_t average = 0;
  if (auto v = get_integer(attrs, path, "average_size", errors, true)) {
    if (*v < 1)
      errors.add(path_join(path, "average_size"), fmt::format("must be >= 1, got {}", *v));
    else if (*v > SlicerStage::kMaxSize)
      errors.add(path_join(path, "average_size"),
                 fmt::format("must be at most {}, got {}", SlicerStage::kMaxSize, *v));
    else
      average = *v;
  }
  const auto variation =
      attr_nonneg_int(attrs, path, "size_variation", 0, errors, SlicerStage::kMaxSize);
  const auto delay = attr_nonneg_int(attrs, path, "delay", 0, errors, SlicerStage::kMaxDelayUs);
  // size_variation may exceed average_size, as Toxiproxy allows (a slice is at least 1 byte).
  return std::make_shared<SlicerConfig>(average, variation, delay);
}

}  // namespace

void register_slicer(Registry& registry) {
  registry.add(
      {.name = "slicer",
       .description = "cut chunks into average_size +/- size_variation byte slices, delay "
                      "us apart",
       .parse = parse,
       .redis = false,
       .toxiproxy = ToxiproxyAttributes{.known = {"average_size", "size_variation", "delay"},
                                        .negative_as_zero = {"delay"},
                                        .at_most = {{"average_size", SlicerStage::kMaxSize},
                                                    {"size_variation", SlicerStage::kMaxSize},
                                                    {"delay", SlicerStage::kMaxDelayUs}}}});
}

}  // namespace faultline::proxy
