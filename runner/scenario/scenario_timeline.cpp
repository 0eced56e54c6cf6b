// Scenario parsing, timeline: phases and their fault actions. The toxics on each proxy are
// simulated once, as proxy::Toxic objects, so every add_toxic and update_toxic is checked by the
// proxy's own parser against the toxic active at that point; the orchestrator reads the result
// (TimelineEntry::fault_active) instead of simulating again.
#include <csignal>
#include <set>

#include <fmt/format.h>

#include "runner/scenario/scenario_parse.hpp"
#include "runner/system/process_runner.hpp"

namespace faultline::runner {

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
    case Kind::signal:
      return fmt::format("signal {} to {}", signal_name, process);
    case Kind::restart:
      return fmt::format("restart {}", process);
    case Kind::exec: {
      std::string cmd;
      for (const auto& c : command)
        cmd += (cmd.empty() ? "" : " ") + c;
      return fmt::format("exec {}", cmd);
    }
  }
  return "";
}

bool Action::changes_system() const {
  switch (kind) {
    case Kind::add_toxic:
    case Kind::update_toxic:
    case Kind::remove_toxic:
    case Kind::disable_proxy:
    case Kind::enable_proxy:
      return false;
    case Kind::signal:
    case Kind::restart:
    case Kind::exec:
      return true;
  }
  return true;
}

}  // namespace faultline::runner

namespace faultline::runner::scenario_detail {

namespace {

// Processes the timeline has stopped (STOP) or ended (KILL, TERM...) and not yet continued or
// restarted: a fault, like an active toxic.
using DownSet = std::set<std::string>;

// signal / restart / exec: actions on processes rather than proxies.
std::optional<Action> parse_process_action(const json& a, const std::string& p,
                                           const std::string& kind, const Scenario& s,
                                           DownSet& down, ConfigErrors& errors) {
  Action act;
  if (kind == "exec") {
    act.kind = Action::Kind::exec;
    reject_unknown_keys(a, p, {"action", "command", "timeout", "allow_failure"}, errors);
    act.command = get_string_list(a, p, "command", errors);
    if (act.command.empty()) errors.add(path_join(p, "command"), "required: [\"program\", ...]");
    if (auto t = get_duration(a, p, "timeout", errors)) {
      act.timeout_seconds = static_cast<double>(t->count()) / 1e9;
      if (act.timeout_seconds <= 0 || act.timeout_seconds > 3600)
        errors.add(path_join(p, "timeout"), "must be between 1ms and 1h");
    }
    act.allow_failure = get_bool(a, p, "allow_failure", errors).value_or(false);
    return act;
  }
  const bool is_signal = kind == "signal";
  act.kind = is_signal ? Action::Kind::signal : Action::Kind::restart;
  if (is_signal)
    reject_unknown_keys(a, p, {"action", "process", "signal"}, errors);
  else
    reject_unknown_keys(a, p, {"action", "process"}, errors);
  auto name = get_string(a, p, "process", errors, true);
  if (!name) return std::nullopt;
  act.process = *name;
  const auto id = ComponentId::parse(*name);
  bool known = false;
  if (id) switch (id->kind()) {
      case ComponentId::Kind::redis:
        known = id->index() < static_cast<std::size_t>(s.redis_shards);
        break;
      case ComponentId::Kind::target:
        known = s.target.enabled;
        break;
      case ComponentId::Kind::process:
        known = s.process(*name) != nullptr;
        break;
      default:
        break;
    }
  if (!known) {
    std::string list;
    for (const auto& pr : s.processes)
      list += (list.empty() ? "" : ", ") + pr.name;
    if (s.target.enabled) list += (list.empty() ? "" : ", ") + std::string("target");
    if (s.redis_shards > 0)
      list += (list.empty() ? "" : ", ") + fmt::format("redis:0..redis:{}", s.redis_shards - 1);
    errors.add(path_join(p, "process"), fmt::format("no process named \"{}\" (known: {})", *name,
                                                    list.empty() ? "none" : list));
    return std::nullopt;
  }
  act.component = id;
  if (!is_signal) {
    down.erase(*name);
    return act;
  }
  auto sig = get_string(a, p, "signal", errors, true);
  if (!sig) return std::nullopt;
  auto n = parse_signal(*sig);
  if (!n) {
    errors.add(path_join(p, "signal"),
               fmt::format("unknown signal \"{}\" (TERM, KILL, STOP, CONT, HUP, INT, QUIT, USR1, "
                           "USR2, ...)",
                           *sig));
    return std::nullopt;
  }
  act.signal = *n;
  act.signal_name = *sig;
  if (*n == SIGCONT)
    down.erase(*name);
  else if (signal_takes_down(*n))
    down.insert(*name);  // stopped, or expected to end: a fault until CONT or restart
  return act;
}

std::optional<Action> parse_action(const json& a, const std::string& p, const Scenario& s,
                                   ProxyStates& states, DownSet& down, ConfigErrors& errors) {
  if (!a.is_object()) {
    errors.add(p, "must be an object with \"action\"");
    return std::nullopt;
  }
  Action act;
  auto kind = get_string(a, p, "action", errors, true);
  if (!kind) return std::nullopt;
  if (*kind == "signal" || *kind == "restart" || *kind == "exec")
    return parse_process_action(a, p, *kind, s, down, errors);
  auto proxy_name = get_string(a, p, "proxy", errors, true);
  if (!proxy_name) return std::nullopt;
  act.proxy = *proxy_name;
  if (!s.proxy(*proxy_name)) {
    errors.add(path_join(p, "proxy"), fmt::format("no proxy named \"{}\"", *proxy_name));
    return std::nullopt;
  }
  ProxyState& state = states[*proxy_name];
  if (*kind == "add_toxic") {
    act.kind = Action::Kind::add_toxic;
    reject_unknown_keys(a, p, {"action", "proxy", "toxic"}, errors);
    auto it = a.find("toxic");
    if (it == a.end()) {
      errors.add(path_join(p, "toxic"), "required field is missing");
      return std::nullopt;
    }
    auto parsed = parse_scenario_toxic(*it, path_join(p, "toxic"), state, errors);
    if (!parsed) return std::nullopt;
    act.body = *it;
    act.toxic = parsed->name;
    if (!state.toxics.emplace(parsed->name, parsed->toxic).second)
      errors.add(path_join(p, "toxic"),
                 fmt::format("toxic \"{}\" is already active on proxy \"{}\" at this point",
                             act.toxic, *proxy_name));
    if (!parsed->toxic) return std::nullopt;
  } else if (*kind == "update_toxic" || *kind == "remove_toxic") {
    const bool update = *kind == "update_toxic";
    act.kind = update ? Action::Kind::update_toxic : Action::Kind::remove_toxic;
    if (!update) reject_unknown_keys(a, p, {"action", "proxy", "toxic"}, errors);
    auto name = get_string(a, p, "toxic", errors, true);
    if (!name) return std::nullopt;
    act.toxic = *name;
    auto current = state.toxics.find(*name);
    if (current == state.toxics.end())
      errors.add(path_join(p, "toxic"),
                 fmt::format("no toxic \"{}\" is active on proxy \"{}\" at this point", *name,
                             *proxy_name));
    if (!update) {
      if (current != state.toxics.end()) state.toxics.erase(current);
      return act;
    }
    // The update is the action's other members, merged by the proxy's own rule (absent fields
    // keep their values; name and type cannot change), against the toxic active at this point.
    act.body = json::object();
    for (const auto& [k, v] : a.items())
      if (k != "action" && k != "proxy" && k != "toxic") act.body[k] = v;
    if (act.body.empty()) errors.add(p, "update_toxic needs \"toxicity\" and/or \"attributes\"");
    if (current != state.toxics.end() && current->second && state.protocol) {
      if (auto updated = proxy::update_toxic(*current->second, act.body, p, *state.protocol,
                                             proxy::builtin_registry(), errors))
        current->second = std::move(*updated);
    } else {
      // Its current state is unknown (already reported): check the members' names only.
      reject_unknown_keys(
          a, p,
          {"action", "proxy", "toxic", "name", "type", "stream", "toxicity", "scope", "attributes"},
          errors);
    }
  } else if (*kind == "disable_proxy" || *kind == "enable_proxy") {
    act.kind = *kind == "disable_proxy" ? Action::Kind::disable_proxy : Action::Kind::enable_proxy;
    reject_unknown_keys(a, p, {"action", "proxy"}, errors);
    state.disabled = act.kind == Action::Kind::disable_proxy;
  } else {
    errors.add(path_join(p, "action"),
               fmt::format("unknown action \"{}\" (add_toxic, update_toxic, remove_toxic, "
                           "disable_proxy, enable_proxy, signal, restart, exec)",
                           *kind));
    return std::nullopt;
  }
  return act;
}

bool any_fault(const ProxyStates& states, const DownSet& down) {
  if (!down.empty()) return true;
  for (const auto& [_, st] : states)
    if (st.disabled || !st.toxics.empty()) return true;
  return false;
}

}  // namespace

void parse_timeline(const json& arr, const std::string& path, Scenario& s, ProxyStates& states,
                    ConfigErrors& errors) {
  if (!arr.is_array() || arr.empty()) {
    errors.add(path, "must be a non-empty array of {\"at\", \"phase\", \"actions\"}");
    return;
  }
  double prev = -1;
  DownSet down;
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
          if (auto a = parse_action((*it)[k], path_index(path_join(p, "actions"), k), s, states,
                                    down, errors))
            entry.actions.push_back(std::move(*a));
      }
    }
    entry.fault_active = any_fault(states, down);
    s.timeline.push_back(std::move(entry));
  }
}

}  // namespace faultline::runner::scenario_detail
