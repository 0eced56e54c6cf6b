// `corrupt` (Vaurien; protocol tcp): damages every chunk of the direction: `mode` "replace"
// (default) overwrites `bytes` random positions with random bytes, "inject" inserts `bytes` random
// bytes at random positions.
#include "proxy/behavior.hpp"

#include <fmt/format.h>

namespace faultline::proxy {

namespace {

class CorruptStage : public StreamStage {
 public:
  CorruptStage(bool inject, std::int64_t bytes, Rng rng)
      : inject_(inject), bytes_(bytes), rng_(rng) {}
  void on_data(std::vector<Piece>& pieces, Clock::time_point, StreamEffects&) override {
    for (auto& p : pieces) {
      if (p.bytes.empty()) continue;
      for (std::int64_t i = 0; i < bytes_; ++i) {
        const auto byte = static_cast<char>(rng_.next() & 0xff);
        if (inject_) {
          p.bytes.insert(
              p.bytes.begin() + static_cast<std::ptrdiff_t>(rng_.below(p.bytes.size() + 1)), byte);
        } else {
          // Never a no-op: xor with a non-zero value.
          p.bytes[rng_.below(p.bytes.size())] ^= static_cast<char>(byte | 1);
        }
      }
    }
  }

 private:
  bool inject_;
  std::int64_t bytes_;
  Rng rng_;
};

class CorruptConfig : public BehaviorConfig {
 public:
  CorruptConfig(bool inject, std::int64_t bytes) : inject_(inject), bytes_(bytes) {}
  json attributes() const override {
    return {{"mode", inject_ ? "inject" : "replace"}, {"bytes", bytes_}};
  }
  std::unique_ptr<StreamStage> make_stream_stage(Rng& rng, Clock::time_point) const override {
    return std::make_unique<CorruptStage>(inject_, bytes_, Rng(rng.next()));
  }

 private:
  bool inject_;
  std::int64_t bytes_;
};

std::shared_ptr<const BehaviorConfig> parse(const json& attrs, const std::string& path,
                                            ConfigErrors& errors) {
  reject_unknown_keys(attrs, path, {"mode", "bytes"}, errors);
  bool inject = false;
  if (auto m = get_string(attrs, path, "mode", errors)) {
    if (*m == "inject")
      inject = true;
    else if (*m != "replace")
      errors.add(path_join(path, "mode"),
                 fmt::format("must be \"replace\" or \"inject\", got \"{}\"", *m));
  }
  const auto bytes = attr_nonneg_int(attrs, path, "bytes", 1, errors);
  if (bytes == 0) errors.add(path_join(path, "bytes"), "must be >= 1");
  return std::make_shared<CorruptConfig>(inject, bytes);
}

}  // namespace

void register_corrupt(Registry& registry) {
  registry.add({.name = "corrupt",
                .description = "replace or inject random bytes in every chunk",
                .parse = parse,
                .http = false,
                .redis = false});
}

}  // namespace faultline::proxy
