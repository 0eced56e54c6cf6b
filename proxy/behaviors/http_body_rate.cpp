// `http_body_rate` (protocol http): the body of a matching exchange is paced at `rate` KB/s
// (1 KB = 1000 bytes, Toxiproxy's unit; Envoy's response_rate_limit counts KiB/s), in pieces of
// at most 100 ms worth of bytes — the pacing of `bandwidth`, on a body instead of a TCP
// direction. Stream downstream (the default): the response body; upstream: the request body.
#include <fmt/format.h>

#include <algorithm>

#include "proxy/behavior.hpp"
#include "proxy/behaviors/match.hpp"

namespace faultline::proxy {

namespace {

constexpr std::int64_t kMaxRateKBps = 1'000'000'000;  // as bandwidth: 1 TB/s

// As BandwidthStage (bandwidth.cpp): the link is busy until `free_`; a piece of n bytes takes
// n / rate seconds after that.
class BodyRateStage : public StreamStage {
 public:
  explicit BodyRateStage(std::int64_t rate_kbps) : bytes_per_second_(rate_kbps * 1000) {}
  void on_data(std::vector<Piece>& pieces, Clock::time_point /*now*/,
               StreamEffects& /*fx*/) override {
    const auto max_piece =
        static_cast<std::size_t>(std::max<std::int64_t>(1, bytes_per_second_ / 10));
    std::vector<Piece> out;
    for (auto& p : pieces) {
      for (std::size_t off = 0; off < p.bytes.size();) {
        const std::size_t n = std::min(max_piece, p.bytes.size() - off);
        const Clock::time_point start = std::max(p.due, free_);
        free_ = start + std::chrono::nanoseconds(static_cast<std::int64_t>(n) * 1'000'000'000 /
                                                 bytes_per_second_);
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

class BodyRateSpec : public BodyFaultSpec {
 public:
  explicit BodyRateSpec(std::int64_t rate) : rate_(rate) {}
  std::unique_ptr<StreamStage> make(Rng&, Clock::time_point) const override {
    return std::make_unique<BodyRateStage>(rate_);
  }
  std::int64_t rate() const { return rate_; }

 private:
  std::int64_t rate_;
};

class HttpBodyRateConfig : public BehaviorConfig {
 public:
  HttpBodyRateConfig(std::shared_ptr<const BodyRateSpec> spec, RequestMatch match)
      : spec_(std::move(spec)), match_(std::move(match)) {}
  json attributes() const override {
    json a{{"rate", spec_->rate()}};
    match_.add_to(a);
    return a;
  }
  bool matches(const RequestInfo& req) const override { return match_.matches(req); }
  RequestFault request_fault(Rng&, Stream stream) const override {
    RequestFault f;
    f.kind = RequestFault::Kind::body;
    f.body_fault = spec_;
    f.stream = stream;
    return f;
  }

 private:
  std::shared_ptr<const BodyRateSpec> spec_;
  RequestMatch match_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(
      attrs, path, {"rate", "method", "path_prefix", "path_regex", "header_name", "header_value"},
      errors);
  std::int64_t rate = 1;
  if (auto v = get_integer(attrs, path, "rate", errors, true)) {
    if (*v < 1)
      errors.add(path_join(path, "rate"), fmt::format("must be >= 1, got {}", *v));
    else if (*v > kMaxRateKBps)
      errors.add(path_join(path, "rate"),
                 fmt::format("must be at most {}, got {}", kMaxRateKBps, *v));
    else
      rate = *v;
  }
  return std::make_shared<HttpBodyRateConfig>(std::make_shared<BodyRateSpec>(rate),
                                              parse_http_match(attrs, path, errors));
}

}  // namespace

void register_http_body_rate(Registry& registry) {
  registry.add({.name = "http_body_rate",
                .description = "pace a body at rate KB/s (1 KB = 1000 bytes)",
                .parse = parse,
                .tcp = false,
                .redis = false});
}

}  // namespace faultline::proxy
