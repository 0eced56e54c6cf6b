// `corrupt` (Vaurien; protocol tcp): damages every chunk of the direction: `mode` "replace"
// (default) overwrites `bytes` random positions with random bytes, "inject" inserts `bytes` random
// bytes at random positions; a chunk shorter than `bytes` gets as many changes as it has bytes.
#include "proxy/behavior.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace faultline::proxy {

namespace {

// `bytes` is at most 1 MiB (docs/proxy.md#attribute-ranges), and a chunk gets at most as many
// changes as it has bytes: the work per chunk is linear in the chunk, whatever `bytes` says.
constexpr std::int64_t kMaxBytes = std::int64_t{1} << 20;

class CorruptStage : public StreamStage {
 public:
  CorruptStage(bool inject, std::int64_t bytes, Rng rng)
      : inject_(inject), bytes_(bytes), rng_(rng) {}
  void on_data(std::vector<Piece>& pieces, Clock::time_point, StreamEffects&) override {
    for (auto& p : pieces) {
      if (p.bytes.empty()) continue;
      const std::size_t n = std::min(static_cast<std::size_t>(bytes_), p.bytes.size());
      if (inject_)
        inject(p.bytes, n);
      else
        for (std::size_t i = 0; i < n; ++i)  // never a no-op: xor with a non-zero value
          p.bytes[rng_.below(p.bytes.size())] ^= static_cast<char>((rng_.next() & 0xff) | 1);
    }
  }

 private:
  // Inserts n random bytes at random positions in one pass (inserting them one by one would move
  // the tail n times).
  void inject(std::string& bytes, std::size_t n) {
    std::vector<std::size_t> at(n);
    for (auto& a : at)
      a = static_cast<std::size_t>(rng_.below(bytes.size() + 1));
    std::sort(at.begin(), at.end());
    std::string out;
    out.reserve(bytes.size() + n);
    std::size_t from = 0;
    for (const std::size_t a : at) {
      out.append(bytes, from, a - from);
      out.push_back(static_cast<char>(rng_.next() & 0xff));
      from = a;
    }
    out.append(bytes, from, std::string::npos);
    bytes = std::move(out);
  }

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
  // HTTP proxies: acts on upgraded (WebSocket) connections, as on a tcp connection.
  std::unique_ptr<StreamStage> make_upgraded_stage(Rng& rng, Clock::time_point now) const override {
    return make_stream_stage(rng, now);
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
  const auto bytes = attr_nonneg_int(attrs, path, "bytes", 1, errors, kMaxBytes);
  if (bytes == 0) errors.add(path_join(path, "bytes"), "must be >= 1");
  return std::make_shared<CorruptConfig>(inject, bytes);
}

}  // namespace

void register_corrupt(Registry& registry) {
  registry.add({.name = "corrupt",
                .description = "replace or inject random bytes in every chunk",
                .parse = parse,
                .redis = false});
}

}  // namespace faultline::proxy
