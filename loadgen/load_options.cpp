// The load options shared by scenarios and `faultline load`: reading, the rules, and the flags for
// a child (see load_options.hpp).
#include "loadgen/load_options.hpp"

#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "loadgen/stages.hpp"

namespace faultline::loadgen {
namespace {

constexpr const char* kRateForm = "expected a positive rate such as 1000 or \"2k\"";
constexpr const char* kUsersForm = "expected a whole number of users >= 1";

// A number, or a rate string ("2k"); nullopt for anything else (a malformed or negative string).
std::optional<double> number_or_rate(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) return parse_rate(v.get<std::string>());
  return std::nullopt;
}

// A JSON integer as int64 (a whole float too, as get_integer does); nullopt otherwise.
std::optional<std::int64_t> integer(const json& v) {
  if (v.is_number_unsigned())
    return v.get<std::uint64_t>() <= static_cast<std::uint64_t>(INT64_MAX)
               ? std::optional<std::int64_t>(v.get<std::int64_t>())
               : std::nullopt;
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::floor(d) == d && std::fabs(d) < 9e18) return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

// A duration text that parses to more than zero.
bool positive_duration(const std::string& text) {
  const auto d = parse_duration(text);
  return d && d->count() > 0;
}

// Shortest text that parse_rate() reads back as exactly `v`: fixed notation, since parse_rate
// takes no exponent ("1e-05").
std::string rate_text(double v) {
  char buf[400];  // the longest fixed form of a double is ~330 characters
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  if (ec != std::errc()) return fmt::format("{}", v);
  return std::string(buf, end);
}

}  // namespace

OptionNames OptionNames::json_path(std::string_view path) {
  return OptionNames(std::string(path) + ".", "");
}

OptionNames OptionNames::flags() {
  return OptionNames("--", "--");
}

LoadOptions read_load_options(const json& obj, const OptionNames& names, ConfigErrors& errors) {
  LoadOptions o;
  if (!obj.is_object()) return o;
  bool unreadable = false;  // the rules run only when every member could be read
  const auto fail = [&](const char* key, std::string message) {
    errors.add(names.at(key), std::move(message));
    unreadable = true;
  };
  const auto member = [&](const char* key) -> const json* {
    const auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
  };
  if (const json* v = member("rate")) {
    o.rate = number_or_rate(*v);
    if (!o.rate) fail("rate", fmt::format("{}, got {}", kRateForm, v->dump()));
  }
  if (const json* v = member("users")) {
    o.users = number_or_rate(*v);
    if (!o.users) fail("users", fmt::format("{}, got {}", kUsersForm, v->dump()));
  }
  const auto text = [&](const char* key, const char* form, std::optional<std::string>& out) {
    const json* v = member(key);
    if (!v) return;
    if (v->is_string())
      out = v->get<std::string>();
    else
      fail(key, fmt::format("must be a string such as {}, got {}", form, v->dump()));
  };
  text("stages", "\"30s:100,1m:100>1000\"", o.stages);
  text("timeout", "\"2s\"", o.timeout);
  text("duration", "\"30s\"", o.duration);
  if (const json* v = member("connections")) {
    o.connections = integer(*v);
    if (!o.connections)
      fail("connections", fmt::format("must be a whole number between 1 and {}, got {}",
                                      kMaxConnections, v->dump()));
  }
  if (const json* v = member("seed")) {
    if (v->is_number_unsigned())
      o.seed = v->get<std::uint64_t>();
    else if (const auto i = integer(*v); i && *i >= 0)
      o.seed = static_cast<std::uint64_t>(*i);
    else
      fail("seed", fmt::format("must be a whole number >= 0, got {}", v->dump()));
  }
  if (!unreadable) validate_load_options(o, names, errors);
  return o;
}

LoadOptions parse_load_options(const json& obj, std::string_view path, ConfigErrors& errors) {
  return read_load_options(obj, OptionNames::json_path(path), errors);
}

void validate_load_options(const LoadOptions& o, const OptionNames& n, ConfigErrors& errors) {
  if (o.rate && o.users)
    errors.add(n.at("users"),
               fmt::format("give either {} (open model) or {} (closed model), not both",
                           n.ref("rate"), n.ref("users")));
  std::optional<std::vector<Stage>> stages;
  if (o.stages) {
    if (!o.rate && !o.users)
      errors.add(n.at("stages"),
                 fmt::format("needs {} (stage levels are requests/s) or {} (levels are users) to "
                             "choose the model",
                             n.ref("rate"), n.ref("users")));
    if (o.stages->find_first_not_of(" \t") == std::string::npos) {
      errors.add(n.at("stages"), "expected stages such as 30s:100,1m:100>1000 (got nothing)");
    } else {
      std::string error;
      stages = parse_stages(*o.stages, error);
      if (!stages) errors.add(n.at("stages"), error);
    }
  }
  if (o.connections && (*o.connections < 1 || *o.connections > kMaxConnections))
    errors.add(n.at("connections"), fmt::format("must be between 1 and {}", kMaxConnections));
  if (o.duration && !positive_duration(*o.duration))
    errors.add(n.at("duration"), "expected a duration > 0 such as 30s, 5m or 24h");
  if (o.timeout && !positive_duration(*o.timeout))
    errors.add(n.at("timeout"), "expected a duration > 0 such as 2s or 500ms");
  // With stages, rate and users only choose the model: the stages give the levels.
  if (o.rate && (!std::isfinite(*o.rate) || !(*o.rate >= 0) || (!o.stages && !(*o.rate > 0))))
    errors.add(n.at("rate"), kRateForm);
  if (o.users) {
    const double u = *o.users;
    if (!std::isfinite(u) || !(u >= 0) || u != std::floor(u) || (!o.stages && u < 1)) {
      errors.add(n.at("users"), kUsersForm);
    } else if (!o.stages || stages) {
      double cut = 0;  // --duration cuts or extends the stages
      if (o.duration && positive_duration(*o.duration))
        cut = std::chrono::duration<double>(*parse_duration(*o.duration)).count();
      const double most = stages ? Profile(*stages, cut).max_level() : u;
      if (most > static_cast<double>(kMaxConnections))
        errors.add(n.at(stages ? "stages" : "users"),
                   fmt::format("at most {} users (one connection each)", kMaxConnections));
    }
  }
}

std::vector<std::string> to_argv(const LoadOptions& o) {
  std::vector<std::string> argv;
  const auto add = [&](const char* flag, std::string value) {
    argv.emplace_back(flag);
    argv.push_back(std::move(value));
  };
  if (o.rate) add("--rate", rate_text(*o.rate));
  if (o.users) add("--users", rate_text(*o.users));
  if (o.stages) add("--stages", *o.stages);
  if (o.connections) add("--connections", std::to_string(*o.connections));
  if (o.timeout) add("--timeout", *o.timeout);
  if (o.seed) add("--seed", std::to_string(*o.seed));
  if (o.duration) add("--duration", *o.duration);
  return argv;
}

}  // namespace faultline::loadgen
