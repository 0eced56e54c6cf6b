// Scenario parsing and validation (see scenario.hpp): the document's top level, --set overrides
// and --duration; services, load and timeline are in scenario_{services,load,timeline}.cpp. The
// schema is documented in docs/run.md ("Scenario files").
#include "runner/scenario/scenario.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "loadgen/stages.hpp"
#include "runner/scenario/placeholders.hpp"
#include "runner/scenario/promql_phases.hpp"
#include "runner/scenario/scenario_parse.hpp"

namespace faultline::runner {

using namespace scenario_detail;

namespace {

// Splits "a.b.0.c" into segments.
// "a.b.1.c" and a.files["grace.vcl"] (a key with dots, in double quotes inside brackets) into
// segments; nullopt when a bracket is not closed as `"]`.
std::optional<std::vector<std::string>> split_path(const std::string& p) {
  std::vector<std::string> out;
  std::string cur;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '.') {
      out.push_back(std::move(cur));
      cur.clear();
    } else if (p.compare(i, 2, "[\"") == 0) {
      const auto close = p.find("\"]", i + 2);
      if (close == std::string::npos) return std::nullopt;
      if (!cur.empty()) out.push_back(std::move(cur));
      out.push_back(p.substr(i + 2, close - i - 2));
      cur.clear();
      i = close + 1;
      // What follows a bracket is another bracket, a dot, or the end.
      if (i + 1 < p.size() && p[i + 1] == '.') ++i;
    } else {
      cur += p[i];
    }
  }
  if (!cur.empty() || out.empty() || p.back() == '.') out.push_back(std::move(cur));
  return out;
}

bool is_index(const std::string& s) {
  return !s.empty() && s.size() < 9 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// An assertion's `request` must be one the workload records stats under (loadgen's names).
void check_request_name(const LoadSpec& load, const std::string& name, const std::string& path,
                        ConfigErrors& errors) {
  if (!load.enabled) {
    errors.add(path, fmt::format("no request named \"{}\": the scenario has no load", name));
    return;
  }
  if (!load.request_names) return;  // the workload did not parse: its errors are reported
  const auto& known = *load.request_names;
  if (std::find(known.begin(), known.end(), name) != known.end()) return;
  std::string list;
  for (const auto& n : known)
    list += (list.empty() ? "" : ", ") + n;
  errors.add(path, fmt::format("no request named \"{}\" in the workload (known: {})", name, list));
}

// A promql query is evaluated at the end of its phase's first occurrence (the run's end for "*"):
// each phase it names ([phases.NAME], ${phases.NAME.duration}) must have ended by then.
void check_query_phase_order(const Scenario& s, const Assertion& a, const std::string& query,
                             const std::string& path, ConfigErrors& errors) {
  const std::string& own = a.common().phase;
  if (own == "*") return;
  std::vector<std::string> named;
  check_promql_phases(query, &named);
  std::size_t first = s.timeline.size();
  for (std::size_t i = 0; i < s.timeline.size() && first == s.timeline.size(); ++i)
    if (s.timeline[i].phase == own) first = i;
  if (first == s.timeline.size()) return;  // no such phase: reported
  for (const auto& n : named) {
    bool before = n == own;
    for (std::size_t i = 0; i < first && !before; ++i)
      before = s.timeline[i].phase == n;
    const bool exists = std::any_of(s.timeline.begin(), s.timeline.end(),
                                    [&](const TimelineEntry& e) { return e.phase == n; });
    if (!before && exists)
      errors.add(path_join(path, "query"),
                 fmt::format("phase \"{}\" comes after phase \"{}\", at whose end (first "
                             "occurrence) the query is evaluated: it names only phases that "
                             "ended by then",
                             n, own));
  }
}

}  // namespace

const ProxySpec* Scenario::proxy(const std::string& n) const {
  for (const auto& p : proxies)
    if (p.name == n) return &p;
  return nullptr;
}

const ProcessSpec* Scenario::process(const std::string& n) const {
  for (const auto& p : processes)
    if (p.name == n) return &p;
  return nullptr;
}

std::vector<std::string> Scenario::phase_names() const {
  std::vector<std::string> out;
  for (const auto& e : timeline)
    if (std::find(out.begin(), out.end(), e.phase) == out.end()) out.push_back(e.phase);
  return out;
}

void apply_override(json& doc, const std::string& assignment, ConfigErrors& errors) {
  const std::string where = fmt::format("--set {}", assignment);
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    errors.add(where, "expected key.path=value");
    return;
  }
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  json value = parse_json_or_discarded(text);
  if (value.is_discarded()) value = text;  // bare words are strings: --set target.mode=naive
  auto split = split_path(key);
  if (!split) {
    errors.add(where, "a bracketed key is written [\"key.with.dots\"]");
    return;
  }
  auto& segs = *split;
  if (std::any_of(segs.begin(), segs.end(), [](const std::string& s) { return s.empty(); })) {
    errors.add(where, "empty path segment");
    return;
  }
  if (!doc.is_object()) {
    errors.add(where, "the scenario is not a JSON object");
    return;
  }
  static const std::set<std::string> service_keys{"target",    "redis",     "proxies",
                                                  "processes", "proxy_api", "prometheus"};
  if (service_keys.count(segs[0]) && !doc.contains(segs[0])) segs.insert(segs.begin(), "services");
  json* cur = &doc;
  std::string path = "$";
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const bool last = i + 1 == segs.size();
    const std::string& seg = segs[i];
    if (cur->is_array()) {
      if (!is_index(seg) || std::stoul(seg) >= cur->size()) {
        errors.add(where, fmt::format("{} is an array of {} elements; \"{}\" is not an index in it",
                                      path, cur->size(), seg));
        return;
      }
      path = path_index(path, std::stoul(seg));
      cur = &(*cur)[std::stoul(seg)];
    } else if (cur->is_object()) {
      path = path_join(path, seg);
      if (!cur->contains(seg) && !last) (*cur)[seg] = json::object();
      cur = &(*cur)[seg];
    } else {
      errors.add(where,
                 fmt::format("{} is a {}, cannot set a member in it", path, cur->type_name()));
      return;
    }
    if (last) {
      // A string stays a string: env.X=1 is "1", not 1. So is a new member of the maps whose
      // values are all strings (env, vars, files).
      const bool string_map =
          i > 0 && (segs[i - 1] == "env" || segs[i - 1] == "vars" || segs[i - 1] == "files");
      if (!value.is_string() && (cur->is_string() || (cur->is_null() && string_map)))
        *cur = text;
      else
        *cur = value;
    }
  }
}

Scenario parse_scenario(const json& raw, const std::string& base_dir,
                        const AssertionRegistry& registry,
                        const std::map<std::string, std::string>* values) {
  ConfigErrors errors;
  Scenario s;
  ProxyStates states;  // the toxics on each proxy, simulated through the timeline
  s.source = raw;
  s.base_dir = base_dir;
  if (!raw.is_object()) {
    errors.add("$", "a scenario must be a JSON object");
    throw ConfigError(errors);
  }
  // Placeholders: names checked against what the scenario declares, then substituted (by stand-ins
  // when only validating) so every member below is judged as it will run.
  const json expanded = expand_file_templates(raw, base_dir, errors);
  const auto uses = find_placeholders(expanded, errors);
  s.vars = parse_vars(expanded, errors);
  check_placeholder_names(expanded, uses, s.vars, errors);
  auto substituted = values ? *values : placeholder_stand_ins(uses);
  for (const auto& [name, value] : s.vars)
    substituted["var." + name] = value;
  const json doc = substitute_placeholders(expanded, substituted);
  s.effective = doc;
  reject_unknown_keys(
      doc, "$",
      {"name", "description", "duration", "vars", "services", "load", "timeline", "assertions"},
      errors);
  if (auto n = get_string(doc, "$", "name", errors, true)) {
    if (!valid_name(*n)) errors.add("$.name", "must be 1-64 characters of [A-Za-z0-9_.-]");
    s.name = *n;
  }
  s.description = get_string(doc, "$", "description", errors).value_or("");
  if (auto d = get_duration(doc, "$", "duration", errors, true)) {
    s.duration_seconds = static_cast<double>(d->count()) / 1e9;
    if (s.duration_seconds < 1) errors.add("$.duration", "must be at least 1s");
  }
  if (const json* services = get_object(doc, "$", "services", errors, true)) {
    const std::string sp = "$.services";
    reject_unknown_keys(*services, sp,
                        {"target", "redis", "proxies", "processes", "proxy_api", "prometheus"},
                        errors);
    if (auto api = get_string(*services, sp, "proxy_api", errors)) {
      if (auto u = parse_http_url(*api); !u || u->path != "/")
        errors.add("$.services.proxy_api",
                   fmt::format("must be the proxy's API base URL like \"http://127.0.0.1:8474\", "
                               "got \"{}\"",
                               *api));
      else
        s.proxy_api = u->address.to_string();
    }
    if (const json* pr = get_object(*services, sp, "prometheus", errors)) {
      reject_unknown_keys(*pr, "$.services.prometheus", {"url", "scrape_wait"}, errors);
      s.prometheus = true;
      if (auto url = get_string(*pr, "$.services.prometheus", "url", errors)) {
        if (auto u = parse_http_url(*url)) {
          s.prometheus_address = u->address;
          s.prometheus_path = u->path;
        } else {
          errors.add("$.services.prometheus.url",
                     fmt::format("must be a Prometheus base URL like \"http://prometheus:9090\", "
                                 "got \"{}\"",
                                 *url));
        }
      }
      if (auto w = get_duration(*pr, "$.services.prometheus", "scrape_wait", errors)) {
        if (w->count() < 0 || !pr->contains("url"))
          errors.add("$.services.prometheus.scrape_wait",
                     "must be >= 0, with \"url\" (the run's own Prometheus scrapes every second)");
        else
          s.prometheus_scrape_wait_seconds = static_cast<double>(w->count()) / 1e9;
      }
    }
    if (const json* r = get_object(*services, sp, "redis", errors)) {
      reject_unknown_keys(*r, "$.services.redis", {"shards"}, errors);
      if (auto n = get_integer(*r, "$.services.redis", "shards", errors, true)) {
        if (*n < 1 || *n > 16)
          errors.add("$.services.redis.shards", fmt::format("must be 1..16, got {}", *n));
        else
          s.redis_shards = static_cast<int>(*n);
      }
    }
    if (const json* t = get_object(*services, sp, "target", errors))
      parse_target(*t, "$.services.target", s, errors);
    if (s.target.enabled && s.target.store == "redis" && s.redis_shards == 0)
      errors.add("$.services.target.store",
                 "\"redis\" needs services.redis.shards (how many redis-server to start)");
    if (auto it = services->find("proxies"); it != services->end())
      parse_proxies(*it, "$.services.proxies", s, states, errors);
    if (auto it = services->find("processes"); it != services->end())
      parse_processes(*it, "$.services.processes", s, errors);
    if (!s.target.enabled && s.proxies.empty() && s.redis_shards == 0 && s.processes.empty())
      errors.add("$.services", "names nothing to start (target, redis, proxies, processes)");
    std::map<std::string, std::string> after_paths{{"target", "$.services.target.after"}};
    for (std::size_t i = 0; i < s.proxies.size(); ++i)
      after_paths[s.proxies[i].name] = path_join(path_index("$.services.proxies", i), "after");
    for (std::size_t i = 0; i < s.processes.size(); ++i)
      after_paths[s.processes[i].name] = path_join(path_index("$.services.processes", i), "after");
    compute_start_order(s, after_paths, errors);
  }
  s.run_pki = s.target.tls || std::any_of(uses.begin(), uses.end(), [](const PlaceholderUse& u) {
                return tls_pki_files().count(u.name) > 0;
              });
  if (const json* l = get_object(doc, "$", "load", errors))
    parse_load(*l, "$.load", base_dir, s, errors);
  if (auto it = doc.find("timeline"); it != doc.end())
    parse_timeline(*it, "$.timeline", s, states, errors);
  else
    errors.add("$.timeline", "required field is missing");

  const auto phases = s.phase_names();
  if (auto it = doc.find("assertions"); it != doc.end()) {
    if (!it->is_array()) {
      errors.add("$.assertions", "must be an array");
    } else {
      std::set<std::string> names;
      for (std::size_t i = 0; i < it->size(); ++i) {
        const std::string p = path_index("$.assertions", i);
        auto a = parse_assertion((*it)[i], p, registry, errors);
        if (!a) continue;
        if (!names.insert(a->common().name).second)
          errors.add(path_join(p, "name"),
                     fmt::format("duplicate assertion name \"{}\"", a->common().name));
        for (const auto& ph : a->referenced_phases())
          if (ph != "*" && std::find(phases.begin(), phases.end(), ph) == phases.end())
            errors.add(path_join(p, a->member_naming(ph)),
                       fmt::format("no timeline phase named \"{}\"", ph));
        if (auto q = a->promql_query()) check_query_phase_order(s, *a, *q, p, errors);
        for (const auto& px : a->referenced_proxies())
          if (!s.proxy(px))
            errors.add(path_join(p, "proxy"), fmt::format("no proxy named \"{}\"", px));
        for (const auto& c : a->referenced_components())
          if (c != "target" && c != "proxy" && c != "load" && !s.process(c))
            errors.add(path_join(p, "component"),
                       fmt::format("no component or process named \"{}\" (target, proxy, load or "
                                   "a name of services.processes)",
                                   c));
        for (const auto& r : a->referenced_requests())
          check_request_name(s.load, r, path_join(p, "request"), errors);
        if (a->promql_query()) s.prometheus = true;
        s.assertions.push_back(std::move(a));
      }
    }
  }
  if (s.load.external && !std::any_of(s.assertions.begin(), s.assertions.end(),
                                      [](const auto& a) { return a->promql_query().has_value(); }))
    errors.add("$.load.external",
               "an external load is judged with promql assertions, and there are none");
  if (!errors.empty()) throw ConfigError(errors);
  return s;
}

void scale_duration(Scenario& s, double new_duration_seconds) {
  if (s.duration_seconds <= 0 || new_duration_seconds <= 0) return;
  const double f = new_duration_seconds / s.duration_seconds;
  if (s.load.options.stages) {
    std::string error;
    auto scaled = loadgen::scale_stages(*s.load.options.stages, f, error);
    if (!scaled) throw ConfigError("$.load.stages: " + error);
    s.load.options.stages = std::move(*scaled);
  }
  s.duration_seconds = new_duration_seconds;
  // Boundaries on whole seconds: the load generator's intervals are whole seconds, so a boundary
  // in between would count a fault second in the phase next to it.
  for (auto& e : s.timeline)
    e.at_seconds = std::round(e.at_seconds * f);
}

namespace {

// Each phase's length after scale_duration(`d`) and the shortest it may be (2 s, or more for an
// assertion such as recovery_time's stable_seconds + 1).
struct PhaseCheck {
  std::string phase;
  double length = 0, minimum = 0;
};

std::vector<PhaseCheck> phase_checks(const Scenario& original, double d) {
  std::vector<PhaseCheck> out;
  const double f = d / original.duration_seconds;
  for (std::size_t i = 0; i < original.timeline.size(); ++i) {
    const double start = std::round(original.timeline[i].at_seconds * f);
    const double end =
        i + 1 < original.timeline.size() ? std::round(original.timeline[i + 1].at_seconds * f) : d;
    PhaseCheck c{original.timeline[i].phase, end - start, 2};
    for (const auto& a : original.assertions)
      if (a->common().phase == c.phase) c.minimum = std::max(c.minimum, a->min_phase_seconds());
    out.push_back(std::move(c));
  }
  return out;
}

bool phases_fit(const Scenario& original, double d) {
  for (const auto& c : phase_checks(original, d))
    if (c.length < c.minimum) return false;
  return true;
}

}  // namespace

void check_compressed_phases(const Scenario& original, double new_duration_seconds) {
  for (const auto& c : phase_checks(original, new_duration_seconds)) {
    if (c.length >= c.minimum) continue;
    // The smallest whole-second duration that gives every phase its minimum.
    double d = std::ceil(new_duration_seconds);
    while (!phases_fit(original, d) && d < original.duration_seconds)
      d += 1;
    throw ConfigError(fmt::format(
        "--duration {}: phase \"{}\" would last {}s (at least {}s needed: every phase >= 2s, a "
        "recovery_time phase >= stable_seconds + 1); the smallest --duration that works is {}",
        format_duration(
            std::chrono::nanoseconds(static_cast<std::int64_t>(new_duration_seconds * 1e9))),
        c.phase, c.length, c.minimum,
        format_duration(std::chrono::nanoseconds(static_cast<std::int64_t>(d * 1e9)))));
  }
}

Scenario load_scenario(const std::string& file, const std::vector<std::string>& overrides,
                       std::optional<double> duration_seconds) {
  json doc = load_json_file(file);
  ConfigErrors errors;
  for (const auto& o : overrides)
    apply_override(doc, o, errors);
  if (!errors.empty()) throw ConfigError(errors);
  auto base = std::filesystem::absolute(file).parent_path().string();
  Scenario s = parse_scenario(doc, base);
  s.file = file;
  if (duration_seconds) {
    check_compressed_phases(s, *duration_seconds);
    scale_duration(s, *duration_seconds);
    s.scaled_to = duration_seconds;
  }
  return s;
}

}  // namespace faultline::runner
