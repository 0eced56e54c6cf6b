// `faultline envelope`'s arguments checked against the scenario into a Plan (envelope.hpp), before
// any trial starts: every error with the flag or the JSON path it concerns, all at once.
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "proxy/behavior.hpp"
#include "runner/envelope/envelope.hpp"
#include "runner/envelope/envelope_trial.hpp"
#include "runner/orchestrator.hpp"
#include "runner/scenario/scenario.hpp"

namespace faultline::runner::envelope {

namespace {

std::optional<double> parse_number(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

bool whole(double v) {
  return std::floor(v) == v;
}

// A bound as an assertion states it: a number, a duration (seconds) or a rate ("2k").
std::optional<double> bound_value(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (!v.is_string()) return std::nullopt;
  const auto s = v.get<std::string>();
  if (auto d = parse_duration(s)) return static_cast<double>(d->count()) / 1e9;
  return parse_rate(s);
}

std::string toxic_name(const json& t) {
  if (auto n = t.find("name"); n != t.end() && n->is_string()) return n->get<std::string>();
  const std::string type = t.value("type", std::string());
  const bool up = t.value("stream", std::string("downstream")) == "upstream";
  return proxy::default_toxic_name(type, up ? proxy::Stream::upstream : proxy::Stream::downstream);
}

// Finds every place the scenario sets PROXY/TOXIC: an initial toxic, the timeline's add_toxic and
// update_toxic actions. Fills axis.set_keys; records an error when the toxic is nowhere.
void locate_fault(const json& doc, FaultAxis& axis, ConfigErrors& errors) {
  const json& services = doc.value("services", json::object());
  const json& proxies = services.value("proxies", json::array());
  std::optional<std::size_t> pi;
  std::vector<std::string> names;
  for (std::size_t i = 0; i < proxies.size(); ++i) {
    names.push_back(proxies[i].value("name", std::string()));
    if (names.back() == axis.proxy) pi = i;
  }
  if (!pi) {
    errors.add(
        "$.services.proxies",
        fmt::format("--fault: no proxy named \"{}\" (the scenario's proxies: {})", axis.proxy,
                    names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
    return;
  }
  const bool toxicity = axis.attribute == "toxicity";
  auto member = [&](const std::string& prefix) {
    return toxicity ? prefix + ".toxicity" : prefix + ".attributes." + axis.attribute;
  };
  std::vector<std::string> seen;
  const json& initial = proxies[*pi].value("toxics", json::array());
  for (std::size_t k = 0; k < initial.size(); ++k) {
    seen.push_back(toxic_name(initial[k]));
    if (seen.back() == axis.toxic)
      axis.set_keys.push_back(member(fmt::format("proxies.{}.toxics.{}", *pi, k)));
  }
  const json& timeline = doc.value("timeline", json::array());
  for (std::size_t e = 0; e < timeline.size(); ++e) {
    const json& actions = timeline[e].value("actions", json::array());
    for (std::size_t a = 0; a < actions.size(); ++a) {
      const json& act = actions[a];
      if (!act.is_object() || act.value("proxy", std::string()) != axis.proxy) continue;
      const std::string kind = act.value("action", std::string());
      const std::string at = fmt::format("timeline.{}.actions.{}", e, a);
      if (kind == "add_toxic" && act.contains("toxic") && act["toxic"].is_object()) {
        seen.push_back(toxic_name(act["toxic"]));
        if (seen.back() == axis.toxic) axis.set_keys.push_back(member(at + ".toxic"));
      } else if (kind == "update_toxic" && act.value("toxic", std::string()) == axis.toxic) {
        const bool sets = toxicity
                              ? act.contains("toxicity")
                              : act.value("attributes", json::object()).contains(axis.attribute);
        if (sets) axis.set_keys.push_back(member(at));
      }
    }
  }
  if (axis.set_keys.empty())
    errors.add(fmt::format("$.services.proxies[{}]", *pi),
               fmt::format("--fault: no toxic named \"{}\" on proxy \"{}\", neither among its "
                           "toxics nor added by the timeline (toxics seen: {})",
                           axis.toxic, axis.proxy,
                           seen.empty() ? "none" : fmt::format("{}", fmt::join(seen, ", "))));
}

// Loads the scenario as one trial at `p` would (overrides, --duration); nullopt with its errors
// recorded when it is invalid.
std::optional<Scenario> check_point(const Plan& plan, const Point& p, ConfigErrors& errors) {
  try {
    return load_scenario(plan.scenario_file, trial_overrides(plan, p), plan.trial_seconds);
  } catch (const ConfigError& e) {
    errors.add(fmt::format("at load {} and {} = {}", format_value(p.load, plan.integer_load),
                           plan.fault.label(), format_value(p.fault, plan.fault.integer)),
               fmt::format("the trial's scenario is invalid:\n{}", e.what()));
    return std::nullopt;
  }
}

}  // namespace

std::optional<Range> parse_range(const std::string& text, bool rate) {
  const auto dots = text.find("..");
  if (dots == std::string::npos) return std::nullopt;
  const std::string a = text.substr(0, dots);
  const std::string b = text.substr(dots + 2);
  auto from = rate ? parse_rate(a) : parse_number(a);
  auto to = rate ? parse_rate(b) : parse_number(b);
  if (!from || !to) return std::nullopt;
  return Range{*from, *to};
}

Plan make_plan(const EnvelopeArgs& a) {
  ConfigErrors errors;
  Plan plan;
  plan.scenario_file = a.scenario;
  plan.base_sets = a.sets;
  plan.repeats = a.repeats;
  plan.max_levels = a.max_levels;
  if (auto l = parse_range(a.load, true); !l) {
    errors.add("--load",
               fmt::format("expected FROM..TO in requests/s like 100..800, got \"{}\"", a.load));
  } else if (l->from <= 0) {
    errors.add("--load", "the rates must be positive");
  } else if (l->to < l->from) {
    errors.add("--load", fmt::format("the range {} is empty (FROM > TO)", a.load));
  } else {
    plan.load = *l;
    plan.integer_load = whole(l->from) && whole(l->to);
  }
  FaultAxis& f = plan.fault;
  const auto eq = a.fault.rfind('=');
  const std::string spec = a.fault.substr(0, eq);
  const auto slash = spec.find('/');
  const auto dot = spec.rfind('.');
  if (eq == std::string::npos || slash == std::string::npos || dot == std::string::npos ||
      dot < slash || slash == 0 || dot == slash + 1 || dot + 1 == spec.size()) {
    errors.add("--fault", fmt::format("expected PROXY/TOXIC.ATTRIBUTE=FROM..TO like "
                                      "'redis0/slow.latency=0..200', got \"{}\"",
                                      a.fault));
  } else {
    f.proxy = spec.substr(0, slash);
    f.toxic = spec.substr(slash + 1, dot - slash - 1);
    f.attribute = spec.substr(dot + 1);
    if (auto r = parse_range(a.fault.substr(eq + 1), false); !r)
      errors.add("--fault", fmt::format("expected FROM..TO after '=' (numbers in the attribute's "
                                        "own unit), got \"{}\"",
                                        a.fault.substr(eq + 1)));
    else if (r->to <= r->from)
      errors.add("--fault", fmt::format("the range {} is empty (FROM must be below TO)",
                                        a.fault.substr(eq + 1)));
    else
      f.range = *r;
  }
  if (auto b = parse_duration(a.budget); !b || b->count() <= 0)
    errors.add("--budget", fmt::format("expected a duration like \"30m\", got \"{}\"", a.budget));
  else
    plan.budget_seconds = static_cast<double>(b->count()) / 1e9;
  if (!a.trial_duration.empty()) {
    if (auto d = parse_duration(a.trial_duration); !d || d->count() < 1'000'000'000)
      errors.add("--trial-duration", fmt::format("expected a duration of at least 1s like "
                                                 "\"10s\", got \"{}\"",
                                                 a.trial_duration));
    else
      plan.trial_seconds = static_cast<double>(d->count()) / 1e9;
  }
  if (a.repeats < 0) errors.add("--repeats", "must be >= 0");
  if (a.max_levels < 1) errors.add("--max-levels", "must be >= 1");
  if (!a.resolution.empty()) {
    auto r = parse_number(a.resolution);
    if (!r || *r <= 0)
      errors.add("--resolution", fmt::format("expected a positive number in the attribute's unit, "
                                             "got \"{}\"",
                                             a.resolution));
    else
      plan.resolution = *r;
  }

  // The scenario itself, with the user's overrides: valid as it stands, then the envelope's needs.
  json doc = load_json_file(a.scenario);
  ConfigErrors set_errors;
  for (const auto& s : a.sets)
    apply_override(doc, s, set_errors);
  if (!set_errors.empty())
    throw ConfigError(set_errors.to_string() +
                      (errors.empty() ? std::string() : "\n" + errors.to_string()));
  std::optional<Scenario> base;
  try {
    base = parse_scenario(doc, std::filesystem::absolute(a.scenario).parent_path().string());
  } catch (const ConfigError& e) {
    // The scenario's own errors first, then the flags'.
    if (errors.empty()) throw;
    throw ConfigError(std::string(e.what()) + "\n" + errors.to_string());
  }
  plan.scenario_name = base->name;
  plan.out_dir = a.out.empty() ? "out/envelope-" + base->name : a.out;
  if (!doc.contains("load")) {
    errors.add("$.load", "the scenario has no load; the envelope's load axis sets its rate");
  } else {
    if (doc["load"].contains("users"))
      errors.add("$.load.users",
                 "the envelope sets an open-model rate per trial (load.rate); "
                 "remove users");
    if (doc["load"].contains("stages"))
      errors.add("$.load.stages", "the envelope holds a constant rate per trial; remove stages");
  }
  if (!f.proxy.empty()) locate_fault(doc, f, errors);
  f.unit = (f.attribute == "latency" || f.attribute == "jitter" || f.attribute == "timeout" ||
            f.attribute == "delay")
               ? "ms"
               : "";

  std::vector<std::string> names;
  const json& assertions = doc.value("assertions", json::array());
  for (const auto& as : assertions)
    names.push_back(as.value("name", std::string()));
  std::vector<std::string> wanted = a.slo;
  if (wanted.empty()) wanted = names;
  if (wanted.empty())
    errors.add("$.assertions", "the scenario has no assertions; the envelope needs an SLO");
  for (std::size_t i = 0; i < a.slo.size(); ++i)
    if (std::find(names.begin(), names.end(), a.slo[i]) == names.end())
      errors.add(fmt::format("--slo[{}]", i),
                 fmt::format("no assertion named \"{}\" in $.assertions (names: {})", a.slo[i],
                             fmt::join(names, ", ")));
  for (const auto& w : wanted) {
    for (const auto& as : assertions) {
      if (as.value("name", std::string()) != w) continue;
      SloBound b;
      b.name = w;
      if (as.contains("max")) {
        b.max = bound_value(as["max"]);
        b.relative_max = !b.max && as["max"].is_string();
      }
      if (as.contains("min")) b.min = bound_value(as["min"]);
      plan.slo.push_back(b);
    }
  }
  if (!errors.empty()) throw ConfigError(errors);

  // Both ends of both ranges through the trial's own validation (the proxy's attribute parser
  // rejects an unknown attribute or a value out of its range, --duration a too-short phase).
  const std::optional<Scenario> bottom =
      check_point(plan, Point{plan.load.from, f.range.from}, errors);
  const bool a_ok = bottom.has_value();
  ConfigErrors top;  // reported only when it says something the bottom corner did not
  const bool b_ok = check_point(plan, Point{plan.load.to, f.range.to}, top).has_value();
  if (!b_ok && (a_ok || top.list().back().substr(top.list().back().find(": ")) !=
                            errors.list().back().substr(errors.list().back().find(": "))))
    for (const auto& e : top.list())
      errors.add(e.substr(0, e.find(": ")), e.substr(e.find(": ") + 2));
  if (!errors.empty()) throw ConfigError(errors);
  // Whole numbers only? Ask the attribute's own parser with a value in between.
  if (a_ok && b_ok && whole(f.range.from) && whole(f.range.to)) {
    ConfigErrors probe;
    f.integer = !check_point(plan, Point{plan.load.from, f.range.from + 0.5}, probe).has_value();
  }
  if (a.resolution.empty()) {
    plan.resolution = (f.range.to - f.range.from) / 50;
    if (f.integer) plan.resolution = std::max(1.0, std::round(plan.resolution));
  }
  for (const auto& as : assertions)
    if (as.value("kind", std::string()) == "recovery_time")
      plan.recovery_assertions.push_back(as.value("name", std::string()));
  if (a.fresh_system) {
    plan.reuse_system = false;
    plan.fresh_reason = "--fresh-system";
  } else {
    plan.fresh_reason = system_reuse_obstacle(*bottom);
    plan.reuse_system = plan.fresh_reason.empty();
  }
  return plan;
}

}  // namespace faultline::runner::envelope
