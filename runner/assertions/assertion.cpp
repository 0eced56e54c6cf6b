// The assertion registry, the list of built-in kinds, the common members every assertion has,
// and shared parsing/formatting helpers for the kinds.
#include "runner/assertions/assertion.hpp"

#include <cmath>

#include <fmt/format.h>

// The built-in assertion kinds: kind NAME lives in runner/assertions/NAME.cpp, which defines
// `void register_NAME(AssertionRegistry&)`; adding a kind is that file plus one X(NAME) here (CMake
// picks the file up by glob). The list declares the functions and calls them, so nothing else
// names a kind.
#define FAULTLINE_ASSERTIONS(X) \
  X(error_ratio)                \
  X(latency)                    \
  X(throughput)                 \
  X(error_amplification)        \
  X(recovery_time)              \
  X(isolation)                  \
  X(resource_slope)             \
  X(latency_drift)              \
  X(promql)                     \
  X(checks)                     \
  X(reconnects)

namespace faultline::runner {

#define FAULTLINE_DECLARE_ASSERTION(name) void register_##name(AssertionRegistry& registry);
FAULTLINE_ASSERTIONS(FAULTLINE_DECLARE_ASSERTION)
#undef FAULTLINE_DECLARE_ASSERTION

AssertionResult Assertion::result() const {
  AssertionResult r;
  r.name = common_.name;
  r.kind = common_.kind;
  r.phase = common_.phase;
  return r;
}

void AssertionRegistry::add(const std::string& kind, AssertionFactory factory) {
  factories_[kind] = std::move(factory);
}

const AssertionFactory* AssertionRegistry::find(const std::string& kind) const {
  auto it = factories_.find(kind);
  return it == factories_.end() ? nullptr : &it->second;
}

std::vector<std::string> AssertionRegistry::kinds() const {
  std::vector<std::string> out;
  for (const auto& [k, _] : factories_)
    out.push_back(k);
  return out;
}

void register_builtin_assertions(AssertionRegistry& registry) {
#define FAULTLINE_REGISTER_ASSERTION(name) register_##name(registry);
  FAULTLINE_ASSERTIONS(FAULTLINE_REGISTER_ASSERTION)
#undef FAULTLINE_REGISTER_ASSERTION
}

const AssertionRegistry& builtin_assertions() {
  static const AssertionRegistry registry = [] {
    AssertionRegistry r;
    register_builtin_assertions(r);
    return r;
  }();
  return registry;
}

std::unique_ptr<Assertion> parse_assertion(const json& obj, const std::string& path,
                                           const AssertionRegistry& registry,
                                           ConfigErrors& errors) {
  if (!obj.is_object()) {
    errors.add(path, "must be an object with name, kind and phase");
    return nullptr;
  }
  AssertionCommon c;
  auto name = get_string(obj, path, "name", errors, true);
  auto kind = get_string(obj, path, "kind", errors, true);
  auto phase = get_string(obj, path, "phase", errors, true);
  if (!name || !kind || !phase) return nullptr;
  c.name = *name;
  c.kind = *kind;
  c.phase = *phase;
  if (auto it = obj.find("require_faults"); it != obj.end()) {
    if (it->is_boolean())
      c.require_faults = it->get<bool>();
    else
      errors.add(path_join(path, "require_faults"), "must be true or false");
  }
  const AssertionFactory* f = registry.find(*kind);
  if (!f) {
    std::string known;
    for (const auto& k : registry.kinds())
      known += (known.empty() ? "" : ", ") + k;
    errors.add(path_join(path, "kind"), fmt::format("unknown kind \"{}\" ({})", *kind, known));
    return nullptr;
  }
  std::size_t before = errors.list().size();
  auto a = (*f)(obj, path, std::move(c), errors);
  if (errors.list().size() != before) return nullptr;
  return a;
}

void reject_unknown_assertion_keys(const json& obj, const std::string& path,
                                   std::initializer_list<std::string_view> own,
                                   ConfigErrors& errors) {
  if (!obj.is_object()) return;
  for (const auto& [k, _] : obj.items()) {
    bool known = false;
    for (std::string_view c : {"name", "kind", "phase", "require_faults"})
      known = known || c == k;
    for (auto c : own)
      known = known || c == k;
    if (!known) errors.add(path_join(path, k), "unknown field");
  }
}

std::optional<double> get_nonneg(const json& obj, const std::string& path, const char* key,
                                 ConfigErrors& errors, bool required) {
  auto v = get_number(obj, path, key, errors, required);
  if (v && (*v < 0 || !std::isfinite(*v))) {
    errors.add(path_join(path, key), fmt::format("must be >= 0, got {}", *v));
    return std::nullopt;
  }
  return v;
}

std::optional<double> get_ratio(const json& obj, const std::string& path, const char* key,
                                ConfigErrors& errors, bool required) {
  auto v = get_number(obj, path, key, errors, required);
  if (v && (*v < 0 || *v > 1)) {
    errors.add(path_join(path, key), fmt::format("must be a ratio within 0..1, got {}", *v));
    return std::nullopt;
  }
  return v;
}

std::optional<double> get_seconds(const json& obj, const std::string& path, const char* key,
                                  ConfigErrors& errors, bool required) {
  auto d = get_duration(obj, path, key, errors, required);
  if (!d) return std::nullopt;
  return static_cast<double>(d->count()) / 1e9;
}

std::string fmt_ratio(double v) {
  return fmt::format("{:.4g}", v);
}

std::string fmt_seconds(double v) {
  if (v >= 1 || v == 0) return fmt::format("{:.3g}s", v);
  if (v >= 1e-3) return fmt::format("{:.3g}ms", v * 1e3);
  return fmt::format("{:.3g}us", v * 1e6);
}

std::string fmt_opt(const std::optional<double>& v, bool seconds) {
  if (!v) return "n/a";
  return seconds ? fmt_seconds(*v) : fmt_ratio(*v);
}

}  // namespace faultline::runner
