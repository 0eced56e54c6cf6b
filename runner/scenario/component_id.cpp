// See component_id.hpp.
#include "runner/scenario/component_id.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace faultline::runner {

namespace {

// "PREFIX-DIGITS" (redis-0, load-12, exec-3): the runner's own numbered log files.
bool numbered(std::string_view name, std::string_view prefix) {
  if (name.size() <= prefix.size() + 1 || name.substr(0, prefix.size()) != prefix ||
      name[prefix.size()] != '-')
    return false;
  const auto digits = name.substr(prefix.size() + 1);
  return std::all_of(digits.begin(), digits.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

std::optional<ComponentId> ComponentId::parse(std::string_view text) {
  if (text == "target") return target();
  if (text.rfind("redis:", 0) == 0) {
    const auto digits = text.substr(6);
    std::size_t shard = 0;
    const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), shard);
    if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size())
      return std::nullopt;
    return redis(shard);
  }
  if (!reserved_name_reason(text).empty()) return std::nullopt;
  return process(std::string(text));
}

std::string ComponentId::reserved_name_reason(std::string_view name) {
  static constexpr std::array<std::string_view, 8> kOwn{
      "target", "proxy", "load", "prometheus", "logs", "tls", "target-data", "systems"};
  if (std::find(kOwn.begin(), kOwn.end(), name) != kOwn.end())
    return fmt::format(
        "\"{}\" is reserved: the name of one of the runner's own components or folders", name);
  for (std::string_view prefix : {"redis", "load", "exec"})
    if (numbered(name, prefix))
      return fmt::format(
          "\"{}\" is reserved: the log name of one of the runner's own components ({}-N)", name,
          prefix);
  // The run's output files live next to the processes' folders (${out}/NAME).
  for (std::string_view ext : {".json", ".jsonl", ".html", ".xml", ".log", ".gz", ".tmp"})
    if (name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext)
      return fmt::format("\"{}\" is reserved: it could collide with the run's output files (*{})",
                         name, ext);
  return "";
}

std::string ComponentId::key() const {
  switch (kind_) {
    case Kind::redis:
      return fmt::format("redis:{}", index_);
    case Kind::target:
      return "target";
    case Kind::proxy:
      return "proxy";
    case Kind::process:
      return name_;
    case Kind::load:
      return of_ > 1 ? fmt::format("load-{}", index_) : "load";
    case Kind::prometheus:
      return "prometheus";
  }
  return name_;
}

std::string ComponentId::log_name() const {
  if (kind_ == Kind::redis) return fmt::format("redis-{}", index_);
  return key();
}

std::string ComponentId::display() const {
  switch (kind_) {
    case Kind::redis:
      return fmt::format("redis shard {}", index_);
    case Kind::process:
      return "process " + name_;
    default:
      return key();
  }
}

std::optional<std::string> ComponentId::resource_prefix() const {
  switch (kind_) {
    case Kind::target:
    case Kind::proxy:
    case Kind::load:
      return kind_ == Kind::load ? std::string("load") : key();
    case Kind::process:
      return name_;
    case Kind::redis:
    case Kind::prometheus:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace faultline::runner
