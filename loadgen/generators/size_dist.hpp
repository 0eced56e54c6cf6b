// Paste-size distributions shared by the paste, vanity and story generators:
// {"min": "16", "max": "64KiB", "distribution": "uniform" | "lognormal", "median": "1KiB",
//  "sigma": 1.0} or a fixed size given as a number/string.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>

#include "common/config.hpp"
#include "loadgen/workload.hpp"

namespace faultline::loadgen {

struct SizeDist {
  std::uint64_t min = 256, max = 256, median = 256;
  bool lognormal = false;
  double sigma = 1.0;

  std::size_t sample(Rng& rng) const {
    if (min == max) return static_cast<std::size_t>(min);
    double v;
    if (lognormal)
      v = std::lognormal_distribution<double>(std::log(static_cast<double>(median)), sigma)(rng);
    else
      v = std::uniform_real_distribution<double>(static_cast<double>(min),
                                                 static_cast<double>(max) + 1)(rng);
    return static_cast<std::size_t>(
        std::clamp(v, static_cast<double>(min), static_cast<double>(max)));
  }
};

// Reads member `key` of `spec` (absent: `fallback` bytes, fixed).
inline SizeDist parse_size_dist(const json& spec, std::string_view path, const char* key,
                                std::uint64_t fallback, ConfigErrors& errors) {
  SizeDist d;
  d.min = d.max = d.median = fallback;
  auto it = spec.find(key);
  if (it == spec.end()) return d;
  const auto kpath = path_join(path, key);
  auto bytes = [&](const json& v, const std::string& p) -> std::optional<std::uint64_t> {
    if (v.is_number_unsigned()) return v.get<std::uint64_t>();
    if (v.is_string())
      if (auto b = parse_bytes(v.get<std::string>())) return b;
    errors.add(p, "must be a byte size such as 512, \"4KiB\" or \"1MiB\"");
    return std::nullopt;
  };
  if (!it->is_object()) {
    if (auto b = bytes(*it, kpath)) d.min = d.max = d.median = *b;
    return d;
  }
  reject_unknown_keys(*it, kpath, {"min", "max", "distribution", "median", "sigma"}, errors);
  if (it->contains("min"))
    if (auto b = bytes((*it)["min"], path_join(kpath, "min"))) d.min = *b;
  if (it->contains("max"))
    if (auto b = bytes((*it)["max"], path_join(kpath, "max"))) d.max = *b;
  if (d.min > d.max) errors.add(kpath, "min must be <= max");
  d.median = (d.min + d.max) / 2;
  if (it->contains("median"))
    if (auto b = bytes((*it)["median"], path_join(kpath, "median"))) d.median = *b;
  if (auto dist = get_string(*it, kpath, "distribution", errors)) {
    if (*dist == "lognormal")
      d.lognormal = true;
    else if (*dist != "uniform")
      errors.add(path_join(kpath, "distribution"), "must be \"uniform\" or \"lognormal\"");
  }
  if (auto s = get_number(*it, kpath, "sigma", errors)) {
    if (!(*s > 0)) errors.add(path_join(kpath, "sigma"), "must be > 0");
    d.sigma = *s;
  }
  if (d.median < 1) d.median = 1;
  return d;
}

// Reads "difficulty" (hex digits of the requested id prefix, 1..7).
inline std::size_t parse_difficulty(const json& spec, std::string_view path, ConfigErrors& errors) {
  std::size_t difficulty = 3;
  if (auto d = get_integer(spec, path, "difficulty", errors)) {
    if (*d < 1 || *d > 7)
      errors.add(path_join(path, "difficulty"), "must be 1..7 hex digits");
    else
      difficulty = static_cast<std::size_t>(*d);
  }
  return difficulty;
}

}  // namespace faultline::loadgen
