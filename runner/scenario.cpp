// Scenario parsing and validation (see scenario.hpp); the schema is documented in README's
// "faultline run" section.
#include "runner/scenario.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

namespace faultline::runner {

namespace {

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-' || c == '.';
  });
}

std::vector<std::string> get_string_list(const json& obj, const std::string& path, const char* key,
                                         ConfigErrors& errors) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_array()) {
    errors.add(path_join(path, key), "must be an array of strings");
    return out;
  }
  for (std::size_t i = 0; i < it->size(); ++i) {
    if (!(*it)[i].is_string())
      errors.add(path_index(path_join(path, key), i), "must be a string");
    else
      out.push_back((*it)[i].get<std::string>());
  }
  return out;
}

const json* get_object(const json& obj, const std::string& path, const char* key,
                       ConfigErrors& errors, bool required = false) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) errors.add(path_join(path, key), "required field is missing");
    return nullptr;
  }
  if (!it->is_object()) {
    errors.add(path_join(path, key), fmt::format("must be an object, got {}", it->type_name()));
    return nullptr;
  }
  return &*it;
}

std::string toxic_name(const json& toxic) {
  if (auto it = toxic.find("name"); it != toxic.end() && it->is_string())
    return it->get<std::string>();
  std::string type = toxic.value("type", std::string());
  std::string stream = toxic.value("stream", std::string("downstream"));
  return type + "_" + stream;
}

// A toxic object as Toxiproxy's API takes it. The proxy validates attributes itself (and rejects
// bad ones with 400 naming the field); here the shape is checked so mistakes surface before
// anything starts.
bool check_toxic(const json& toxic, const std::string& path, ConfigErrors& errors) {
  if (!toxic.is_object()) {
    errors.add(path, "must be a toxic object {\"type\": ..., \"attributes\": {...}}");
    return false;
  }
  std::size_t before = errors.list().size();
  get_string(toxic, path, "type", errors, true);
  get_string(toxic, path, "name", errors);
  if (auto stream = get_string(toxic, path, "stream", errors);
      stream && *stream != "upstream" && *stream != "downstream")
    errors.add(path_join(path, "stream"), "must be \"upstream\" or \"downstream\"");
  if (auto t = get_number(toxic, path, "toxicity", errors); t && (*t < 0 || *t > 1))
    errors.add(path_join(path, "toxicity"), fmt::format("must be within 0..1, got {}", *t));
  if (auto it = toxic.find("attributes"); it != toxic.end() && !it->is_object())
    errors.add(path_join(path, "attributes"), "must be an object");
  reject_unknown_keys(toxic, path, {"name", "type", "stream", "toxicity", "attributes", "scope"},
                      errors);
  return errors.list().size() == before;
}

void parse_target(const json& t, const std::string& path, Scenario& s, ConfigErrors& errors) {
  s.target.enabled = true;
  reject_unknown_keys(t, path,
                      {"mode", "store", "threads", "solver_threads", "solver_queue",
                       "debug_leak_bytes_per_request", "args"},
                      errors);
  if (auto m = get_string(t, path, "mode", errors)) {
    if (*m != "resilient" && *m != "naive")
      errors.add(path_join(path, "mode"),
                 fmt::format("must be \"resilient\" or \"naive\", got \"{}\"", *m));
    s.target.mode = *m;
  }
  if (auto st = get_string(t, path, "store", errors)) {
    if (*st != "memory" && *st != "file" && *st != "redis")
      errors.add(path_join(path, "store"),
                 fmt::format("must be \"memory\", \"file\" or \"redis\", got \"{}\"", *st));
    s.target.store = *st;
  }
  auto positive = [&](const char* key, std::optional<std::int64_t>& out) {
    if (auto v = get_integer(t, path, key, errors)) {
      if (*v < 1)
        errors.add(path_join(path, key), fmt::format("must be >= 1, got {}", *v));
      else
        out = v;
    }
  };
  positive("threads", s.target.threads);
  positive("solver_threads", s.target.solver_threads);
  positive("solver_queue", s.target.solver_queue);
  if (auto v = get_integer(t, path, "debug_leak_bytes_per_request", errors)) {
    if (*v < 0)
      errors.add(path_join(path, "debug_leak_bytes_per_request"), "must be >= 0");
    else
      s.target.debug_leak_bytes_per_request = *v;
  }
  s.target.args = get_string_list(t, path, "args", errors);
}

void parse_proxies(const json& arr, const std::string& path, Scenario& s, ConfigErrors& errors) {
  if (!arr.is_array()) {
    errors.add(path, "must be an array of proxies");
    return;
  }
  std::set<std::string> names;
  std::set<int> fronted_shards;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string p = path_index(path, i);
    const json& o = arr[i];
    if (!o.is_object()) {
      errors.add(p, "must be an object");
      continue;
    }
    reject_unknown_keys(
        o, p, {"name", "protocol", "upstream", "toxics", "max_active_faults", "record"}, errors);
    ProxySpec px;
    if (auto n = get_string(o, p, "name", errors, true)) {
      if (!valid_name(*n))
        errors.add(path_join(p, "name"), "must be 1-64 characters of [A-Za-z0-9_.-]");
      else if (!names.insert(*n).second)
        errors.add(path_join(p, "name"), fmt::format("duplicate proxy name \"{}\"", *n));
      px.name = *n;
    }
    if (auto pr = get_string(o, p, "protocol", errors)) {
      if (*pr != "tcp" && *pr != "http" && *pr != "redis")
        errors.add(path_join(p, "protocol"),
                   fmt::format("must be \"tcp\", \"http\" or \"redis\", got \"{}\"", *pr));
      px.protocol = *pr;
    }
    if (auto up = get_string(o, p, "upstream", errors, true)) {
      const std::string up_path = path_join(p, "upstream");
      if (*up == "target") {
        px.upstream_kind = ProxySpec::Upstream::target;
        if (!s.target.enabled) errors.add(up_path, "\"target\" but services.target is not set");
      } else if (up->rfind("redis:", 0) == 0) {
        px.upstream_kind = ProxySpec::Upstream::redis_shard;
        const std::string idx = up->substr(6);
        int n = -1;
        if (!idx.empty() && idx.size() < 4 &&
            std::all_of(idx.begin(), idx.end(), [](unsigned char c) { return std::isdigit(c); }))
          n = std::stoi(idx);
        if (n < 0 || n >= s.redis_shards)
          errors.add(up_path,
                     fmt::format("\"{}\": shard index must be 0..{} (services.redis.shards "
                                 "is {})",
                                 *up, s.redis_shards - 1, s.redis_shards));
        else if (!fronted_shards.insert(n).second)
          errors.add(up_path, fmt::format("another proxy already fronts redis shard {}", n));
        px.shard = n;
      } else if (parse_host_port(*up)) {
        px.upstream_kind = ProxySpec::Upstream::address;
        px.address = *up;
      } else {
        errors.add(up_path, fmt::format("must be \"target\", \"redis:N\" or \"host:port\", got "
                                        "\"{}\"",
                                        *up));
      }
    }
    if (auto it = o.find("toxics"); it != o.end()) {
      if (!it->is_array()) {
        errors.add(path_join(p, "toxics"), "must be an array");
      } else {
        for (std::size_t k = 0; k < it->size(); ++k)
          if (check_toxic((*it)[k], path_index(path_join(p, "toxics"), k), errors))
            px.toxics.push_back((*it)[k]);
      }
    }
    for (const char* key : {"max_active_faults", "record"})
      if (auto it = o.find(key); it != o.end()) px.extra[key] = *it;
    s.proxies.push_back(std::move(px));
  }
}

void parse_load(const json& l, const std::string& path, const std::string& base_dir, Scenario& s,
                ConfigErrors& errors) {
  s.load.enabled = true;
  reject_unknown_keys(l, path,
                      {"via", "workload", "rate", "users", "stages", "connections", "timeout",
                       "seed", "apdex_t", "args"},
                      errors);
  if (auto via = get_string(l, path, "via", errors)) {
    if (!s.proxy(*via))
      errors.add(path_join(path, "via"), fmt::format("no proxy named \"{}\"", *via));
    s.load.via = *via;
  } else if (!s.target.enabled) {
    errors.add(path_join(path, "via"),
               "required when services.target is not set (the load needs somewhere to go)");
  }
  if (auto it = l.find("workload"); it == l.end()) {
    errors.add(path_join(path, "workload"), "required field is missing");
  } else if (it->is_string()) {
    std::filesystem::path f(it->get<std::string>());
    if (f.is_relative()) f = std::filesystem::path(base_dir) / f;
    if (!std::filesystem::is_regular_file(f))
      errors.add(path_join(path, "workload"), fmt::format("no such file: {}", f.string()));
    s.load.workload_file = std::filesystem::absolute(f).lexically_normal().string();
  } else if (it->is_object()) {
    s.load.workload_inline = *it;
  } else {
    errors.add(path_join(path, "workload"),
               "must be a workload file path or an embedded workload object");
  }
  if (auto it = l.find("rate"); it != l.end()) {
    std::optional<double> r;
    if (it->is_number())
      r = it->get<double>();
    else if (it->is_string())
      r = parse_rate(it->get<std::string>());
    if (!r || *r <= 0)
      errors.add(path_join(path, "rate"),
                 fmt::format("must be a positive rate like 100 or \"2k\", got {}", it->dump()));
    else
      s.load.rate = r;
  }
  if (auto u = get_integer(l, path, "users", errors)) {
    if (*u < 1)
      errors.add(path_join(path, "users"), "must be >= 1");
    else
      s.load.users = u;
  }
  if (s.load.rate && s.load.users)
    errors.add(path_join(path, "users"), "give either rate (open model) or users, not both");
  s.load.stages = get_string(l, path, "stages", errors);
  if (auto c = get_integer(l, path, "connections", errors)) {
    if (*c < 1)
      errors.add(path_join(path, "connections"), "must be >= 1");
    else
      s.load.connections = c;
  }
  if (auto t = get_string(l, path, "timeout", errors)) {
    if (!parse_duration(*t))
      errors.add(path_join(path, "timeout"), "must be a duration like \"2s\"");
    else
      s.load.timeout = t;
  }
  if (auto seed = get_integer(l, path, "seed", errors))
    s.load.seed = static_cast<std::uint64_t>(*seed);
  if (auto a = get_duration(l, path, "apdex_t", errors)) {
    if (a->count() <= 0)
      errors.add(path_join(path, "apdex_t"), "must be > 0");
    else
      s.load.apdex_t_seconds = static_cast<double>(a->count()) / 1e9;
  }
  s.load.args = get_string_list(l, path, "args", errors);
}

std::optional<Action> parse_action(const json& a, const std::string& p, const Scenario& s,
                                   std::map<std::string, std::set<std::string>>& active,
                                   ConfigErrors& errors) {
  if (!a.is_object()) {
    errors.add(p, "must be an object with \"action\"");
    return std::nullopt;
  }
  Action act;
  auto kind = get_string(a, p, "action", errors, true);
  auto proxy = get_string(a, p, "proxy", errors, true);
  if (!kind || !proxy) return std::nullopt;
  act.proxy = *proxy;
  if (!s.proxy(*proxy)) {
    errors.add(path_join(p, "proxy"), fmt::format("no proxy named \"{}\"", *proxy));
    return std::nullopt;
  }
  auto& toxics = active[*proxy];
  if (*kind == "add_toxic") {
    act.kind = Action::Kind::add_toxic;
    reject_unknown_keys(a, p, {"action", "proxy", "toxic"}, errors);
    auto it = a.find("toxic");
    if (it == a.end()) {
      errors.add(path_join(p, "toxic"), "required field is missing");
      return std::nullopt;
    }
    if (!check_toxic(*it, path_join(p, "toxic"), errors)) return std::nullopt;
    act.body = *it;
    act.toxic = toxic_name(*it);
    if (!toxics.insert(act.toxic).second)
      errors.add(path_join(p, "toxic"),
                 fmt::format("toxic \"{}\" is already active on proxy \"{}\" at this point",
                             act.toxic, *proxy));
  } else if (*kind == "update_toxic" || *kind == "remove_toxic") {
    const bool update = *kind == "update_toxic";
    act.kind = update ? Action::Kind::update_toxic : Action::Kind::remove_toxic;
    if (update)
      reject_unknown_keys(a, p, {"action", "proxy", "toxic", "toxicity", "attributes"}, errors);
    else
      reject_unknown_keys(a, p, {"action", "proxy", "toxic"}, errors);
    auto name = get_string(a, p, "toxic", errors, true);
    if (!name) return std::nullopt;
    act.toxic = *name;
    if (!toxics.count(*name))
      errors.add(
          path_join(p, "toxic"),
          fmt::format("no toxic \"{}\" is active on proxy \"{}\" at this point", *name, *proxy));
    if (update) {
      act.body = json::object();
      if (auto t = get_number(a, p, "toxicity", errors)) {
        if (*t < 0 || *t > 1) errors.add(path_join(p, "toxicity"), "must be within 0..1");
        act.body["toxicity"] = *t;
      }
      if (auto at = get_object(a, p, "attributes", errors)) act.body["attributes"] = *at;
      if (act.body.empty()) errors.add(p, "update_toxic needs \"toxicity\" and/or \"attributes\"");
    } else {
      toxics.erase(*name);
    }
  } else if (*kind == "disable_proxy" || *kind == "enable_proxy") {
    act.kind = *kind == "disable_proxy" ? Action::Kind::disable_proxy : Action::Kind::enable_proxy;
    reject_unknown_keys(a, p, {"action", "proxy"}, errors);
    const std::string key = "\x01disabled";  // a name no toxic can have
    if (act.kind == Action::Kind::disable_proxy)
      toxics.insert(key);
    else
      toxics.erase(key);
  } else {
    errors.add(path_join(p, "action"),
               fmt::format("unknown action \"{}\" (add_toxic, update_toxic, remove_toxic, "
                           "disable_proxy, enable_proxy)",
                           *kind));
    return std::nullopt;
  }
  return act;
}

void parse_timeline(const json& arr, const std::string& path, Scenario& s, ConfigErrors& errors) {
  if (!arr.is_array() || arr.empty()) {
    errors.add(path, "must be a non-empty array of {\"at\", \"phase\", \"actions\"}");
    return;
  }
  std::map<std::string, std::set<std::string>> active;
  for (const auto& px : s.proxies)
    for (const auto& t : px.toxics)
      active[px.name].insert(toxic_name(t));
  double prev = -1;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string p = path_index(path, i);
    const json& e = arr[i];
    if (!e.is_object()) {
      errors.add(p, "must be an object");
      continue;
    }
    reject_unknown_keys(e, p, {"at", "phase", "actions"}, errors);
    TimelineEntry entry;
    if (auto at = get_duration(e, p, "at", errors, true)) {
      entry.at_seconds = static_cast<double>(at->count()) / 1e9;
      if (i == 0 && entry.at_seconds != 0)
        errors.add(path_join(p, "at"), "the first timeline entry must be at \"0s\"");
      else if (i > 0 && entry.at_seconds <= prev)
        errors.add(path_join(p, "at"), "times must increase strictly");
      else if (s.duration_seconds > 0 && entry.at_seconds >= s.duration_seconds)
        errors.add(path_join(p, "at"),
                   fmt::format("{} is not before the end of the run ({})", format_duration(*at),
                               format_duration(std::chrono::nanoseconds(
                                   static_cast<std::int64_t>(s.duration_seconds * 1e9)))));
      prev = entry.at_seconds;
    }
    if (auto ph = get_string(e, p, "phase", errors, true)) {
      if (!valid_name(*ph))
        errors.add(path_join(p, "phase"), "must be 1-64 characters of [A-Za-z0-9_.-]");
      entry.phase = *ph;
    }
    if (auto it = e.find("actions"); it != e.end()) {
      if (!it->is_array()) {
        errors.add(path_join(p, "actions"), "must be an array");
      } else {
        for (std::size_t k = 0; k < it->size(); ++k)
          if (auto a =
                  parse_action((*it)[k], path_index(path_join(p, "actions"), k), s, active, errors))
            entry.actions.push_back(std::move(*a));
      }
    }
    s.timeline.push_back(std::move(entry));
  }
}

// Splits "a.b.0.c" into segments.
std::vector<std::string> split_path(const std::string& p) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    auto dot = p.find('.', start);
    out.push_back(p.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return out;
}

bool is_index(const std::string& s) {
  return !s.empty() && s.size() < 9 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

}  // namespace

std::string Action::describe() const {
  switch (kind) {
    case Kind::add_toxic:
      return fmt::format("add toxic {} ({}) on {}", toxic, body.value("type", std::string()),
                         proxy);
    case Kind::update_toxic:
      return fmt::format("update toxic {} on {}: {}", toxic, proxy, body.dump());
    case Kind::remove_toxic:
      return fmt::format("remove toxic {} from {}", toxic, proxy);
    case Kind::disable_proxy:
      return fmt::format("disable proxy {}", proxy);
    case Kind::enable_proxy:
      return fmt::format("enable proxy {}", proxy);
  }
  return "";
}

const ProxySpec* Scenario::proxy(const std::string& n) const {
  for (const auto& p : proxies)
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
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = text;  // bare words are strings: --set target.mode=naive
  auto segs = split_path(key);
  if (std::any_of(segs.begin(), segs.end(), [](const std::string& s) { return s.empty(); })) {
    errors.add(where, "empty path segment");
    return;
  }
  if (!doc.is_object()) {
    errors.add(where, "the scenario is not a JSON object");
    return;
  }
  static const std::set<std::string> service_keys{"target", "redis", "proxies"};
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
    if (last) *cur = value;
  }
}

Scenario parse_scenario(const json& doc, const std::string& base_dir,
                        const AssertionRegistry& registry) {
  ConfigErrors errors;
  Scenario s;
  s.effective = doc;
  if (!doc.is_object()) {
    errors.add("$", "a scenario must be a JSON object");
    throw ConfigError(errors);
  }
  reject_unknown_keys(
      doc, "$", {"name", "description", "duration", "services", "load", "timeline", "assertions"},
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
    reject_unknown_keys(*services, sp, {"target", "redis", "proxies"}, errors);
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
      parse_proxies(*it, "$.services.proxies", s, errors);
    if (!s.target.enabled && s.proxies.empty() && s.redis_shards == 0)
      errors.add("$.services", "names nothing to start (target, redis, proxies)");
  }
  if (const json* l = get_object(doc, "$", "load", errors))
    parse_load(*l, "$.load", base_dir, s, errors);
  if (auto it = doc.find("timeline"); it != doc.end())
    parse_timeline(*it, "$.timeline", s, errors);
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
            errors.add(path_join(p, "phase"), fmt::format("no timeline phase named \"{}\"", ph));
        for (const auto& px : a->referenced_proxies())
          if (!s.proxy(px))
            errors.add(path_join(p, "proxy"), fmt::format("no proxy named \"{}\"", px));
        s.assertions.push_back(std::move(a));
      }
    }
  }
  if (!errors.empty()) throw ConfigError(errors);
  return s;
}

namespace {
std::string fmt_secs(double s) {
  return format_duration(
      std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(s * 1e9))));
}
}  // namespace

void scale_duration(Scenario& s, double new_duration_seconds) {
  if (s.duration_seconds <= 0 || new_duration_seconds <= 0) return;
  const double f = new_duration_seconds / s.duration_seconds;
  s.duration_seconds = new_duration_seconds;
  for (auto& e : s.timeline)
    e.at_seconds *= f;
  if (s.load.stages) {
    // "30s:100,2m:1000" → each stage's duration scaled; anything else is left as written.
    std::string out;
    std::string st = *s.load.stages;
    std::size_t start = 0;
    bool ok = true;
    while (start <= st.size() && ok) {
      auto comma = st.find(',', start);
      std::string item =
          st.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      auto colon = item.find(':');
      auto d = colon == std::string::npos ? std::nullopt : parse_duration(item.substr(0, colon));
      if (!d) {
        ok = false;
        break;
      }
      if (!out.empty()) out += ',';
      out += fmt_secs(static_cast<double>(d->count()) / 1e9 * f) + item.substr(colon);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (ok) s.load.stages = out;
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
  if (duration_seconds) scale_duration(s, *duration_seconds);
  return s;
}

}  // namespace faultline::runner
