// The --stages grammar, load profiles and the open model's arrival schedule (see stages.hpp).
#include "loadgen/stages.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/config.hpp"
#include "common/files.hpp"

namespace faultline::loadgen {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    auto pos = s.find(sep);
    out.push_back(trim(s.substr(0, pos)));
    if (pos == std::string_view::npos) break;
    s.remove_prefix(pos + 1);
  }
  return out;
}

}  // namespace

std::optional<std::vector<Stage>> parse_stages(std::string_view spec, std::string& error) {
  std::vector<Stage> out;
  double previous = 0;
  if (trim(spec).empty()) {
    error = "empty";
    return std::nullopt;
  }
  for (auto item : split(spec, ',')) {
    const auto colon = item.find(':');
    if (colon == std::string_view::npos) {
      error = fmt::format("\"{}\" is not DURATION:LEVEL", item);
      return std::nullopt;
    }
    const auto dur = parse_duration(trim(item.substr(0, colon)));
    if (!dur || dur->count() <= 0) {
      error = "bad duration in \"" + std::string(item) + "\"";
      return std::nullopt;
    }
    const double seconds = std::chrono::duration<double>(*dur).count();
    auto level = [&](std::string_view text) -> std::optional<double> {
      auto v = parse_rate(trim(text));
      if (!v)
        error = "bad level \"" + std::string(trim(text)) + "\" in \"" + std::string(item) + "\"";
      return v;
    };
    std::string_view rhs = trim(item.substr(colon + 1));
    if (rhs.find('|') != std::string_view::npos) {
      for (auto part : split(rhs, '|')) {
        auto v = level(part);
        if (!v) return std::nullopt;
        out.push_back(Stage{seconds, *v, *v, std::string(item)});
        previous = *v;
      }
      continue;
    }
    if (auto gt = rhs.find('>'); gt != std::string_view::npos) {
      double from = previous;
      if (!trim(rhs.substr(0, gt)).empty()) {
        auto f = level(rhs.substr(0, gt));
        if (!f) return std::nullopt;
        from = *f;
      }
      auto to = level(rhs.substr(gt + 1));
      if (!to) return std::nullopt;
      out.push_back(Stage{seconds, from, *to, std::string(item)});
      previous = *to;
      continue;
    }
    auto v = level(rhs);
    if (!v) return std::nullopt;
    out.push_back(Stage{seconds, *v, *v, std::string(item)});
    previous = *v;
  }
  return out;
}

std::optional<std::string> scale_stages(std::string_view spec, double factor, std::string& error) {
  if (!parse_stages(spec, error)) return std::nullopt;
  std::string out;
  for (auto item : split(spec, ',')) {
    const auto colon = item.find(':');  // present: parse_stages checked every item
    const auto dur = parse_duration(trim(item.substr(0, colon)));
    const double seconds = std::chrono::duration<double>(*dur).count() * factor;
    if (!out.empty()) out += ',';
    out += format_duration(std::chrono::nanoseconds(std::llround(seconds * 1e9)));
    out += item.substr(colon);
  }
  return out;
}

Profile::Profile(std::vector<Stage> stages, double total_seconds) {
  double t = 0;
  for (auto& s : stages) {
    if (total_seconds > 0 && t + s.duration_seconds > total_seconds) {
      const double keep = total_seconds - t;
      if (keep <= 1e-9) break;
      // Cut a ramp where it is at that instant.
      s.to = s.from + (s.to - s.from) * keep / s.duration_seconds;
      s.duration_seconds = keep;
    }
    t += s.duration_seconds;
    stages_.push_back(std::move(s));
  }
  if (total_seconds > 0 && t < total_seconds - 1e-9) {
    const double last = stages_.empty() ? 0 : stages_.back().to;
    stages_.push_back(Stage{total_seconds - t, last, last, "hold"});
  }
  double area = 0;
  t = 0;
  for (const auto& s : stages_) {
    starts_.push_back(t);
    areas_.push_back(area);
    t += s.duration_seconds;
    area += (s.from + s.to) / 2 * s.duration_seconds;
  }
  starts_.push_back(t);
  areas_.push_back(area);
}

Profile Profile::constant(double level, double seconds) {
  return Profile({Stage{seconds, level, level, "constant"}}, 0);
}

double Profile::max_level() const noexcept {
  double m = 0;
  for (const auto& s : stages_)
    m = std::max({m, s.from, s.to});
  return m;
}

std::size_t Profile::stage_at(double t) const noexcept {
  if (stages_.empty()) return 0;
  auto it = std::upper_bound(starts_.begin(), starts_.end() - 1, t);
  auto i = static_cast<std::size_t>(std::distance(starts_.begin(), it));
  return std::min(i == 0 ? 0 : i - 1, stages_.size() - 1);
}

double Profile::level_at(double t) const noexcept {
  if (stages_.empty() || t < 0 || t >= end_seconds()) return 0;
  const auto i = stage_at(t);
  const auto& s = stages_[i];
  return s.from + (s.to - s.from) * (t - starts_[i]) / s.duration_seconds;
}

double Profile::integral(double t) const noexcept {
  if (stages_.empty() || t <= 0) return 0;
  if (t >= end_seconds()) return areas_.back();
  const auto i = stage_at(t);
  const auto& s = stages_[i];
  const double x = t - starts_[i];
  return areas_[i] + s.from * x + (s.to - s.from) / (2 * s.duration_seconds) * x * x;
}

std::optional<double> Profile::time_of_integral(double area) const noexcept {
  if (stages_.empty() || area >= areas_.back()) return std::nullopt;
  // Last stage whose starting area is <= area and which adds area.
  auto it = std::upper_bound(areas_.begin(), areas_.end(), area);
  auto i = static_cast<std::size_t>(std::distance(areas_.begin(), it)) - 1;
  while (i < stages_.size() && areas_[i + 1] <= area)
    ++i;
  if (i >= stages_.size()) return std::nullopt;
  const auto& s = stages_[i];
  const double a = area - areas_[i];
  const double k = (s.to - s.from) / s.duration_seconds;  // slope of the level
  double x;
  if (std::abs(k) < 1e-12) {
    x = a / s.from;
  } else {
    // (k/2) x² + from x − a = 0, the root in [0, duration].
    const double disc = std::max(0.0, s.from * s.from + 2 * k * a);
    x = (-s.from + std::sqrt(disc)) / k;
  }
  return starts_[i] + std::clamp(x, 0.0, s.duration_seconds);
}

ArrivalSchedule::ArrivalSchedule(const Profile& profile, std::size_t sender, std::size_t senders)
    : profile_(profile), sender_(sender), senders_(std::max<std::size_t>(senders, 1)) {}

std::optional<double> ArrivalSchedule::next() {
  const double m = static_cast<double>(k_ * senders_ + sender_) + 0.5;
  ++k_;
  return profile_.time_of_integral(m);
}

}  // namespace faultline::loadgen
