// Toxics that injected nothing (see fault_check.hpp).
#include "runner/ledger/fault_check.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace faultline::runner {

namespace {

// Whether a toxic object is meant to inject anything: not a noop, toxicity above 0.
bool injects(const json& toxic) {
  if (!toxic.is_object()) return false;
  if (toxic.value("type", std::string()) == "noop") return false;
  auto t = toxic.find("toxicity");
  return t == toxic.end() || !t->is_number() || t->get<double>() > 0;
}

struct ProxyState {
  std::map<std::string, bool> toxics;  // name -> injects
  bool disabled = false;
  std::size_t since = 0;  // the timeline entry at which its toxics were last set
};

}  // namespace

std::vector<IdleToxics> idle_toxics(const Scenario& s, const RunMeasurements& m) {
  std::map<std::string, ProxyState> state;
  std::map<std::string, std::string> protocol;
  for (const auto& p : s.proxies) {
    protocol[p.name] = p.protocol;
    auto& st = state[p.name];
    for (const auto& t : p.toxics)
      st.toxics[t.value("name", t.value("type", std::string("toxic")))] = injects(t);
  }
  std::vector<IdleToxics> out;
  for (std::size_t k = 0; k < s.timeline.size() && k < m.phases.size(); ++k) {
    for (const auto& a : s.timeline[k].actions) {
      if (!state.count(a.proxy)) continue;
      auto& st = state[a.proxy];
      switch (a.kind) {
        case Action::Kind::add_toxic:
          st.toxics[a.toxic] = injects(a.body);
          st.since = k;
          break;
        case Action::Kind::update_toxic:
          if (auto t = a.body.find("toxicity"); t != a.body.end() && t->is_number())
            st.toxics[a.toxic] = t->get<double>() > 0;
          st.since = k;
          break;
        case Action::Kind::remove_toxic:
          // The other toxics' draws on the open connections stay (an update or an add replaces
          // the toxic, which draws again on every connection).
          st.toxics.erase(a.toxic);
          break;
        case Action::Kind::disable_proxy:
          st.disabled = true;
          break;
        case Action::Kind::enable_proxy:
          st.disabled = false;
          st.since = k;
          break;
        default:
          break;
      }
    }
    for (const auto& [name, st] : state) {
      std::vector<std::string> active;
      for (const auto& [toxic, inj] : st.toxics)
        if (inj) active.push_back(toxic);
      if (active.empty() || st.disabled) continue;
      // A tcp proxy's draw holds for its connection: count from the phase its toxics were set.
      const std::size_t from = protocol[name] == "tcp" ? std::min(st.since, k) : k;
      double faults = 0, requests = 0;
      bool known = true;
      for (std::size_t j = from; j <= k; ++j) {
        auto f = m.phases[j].faults.find(name);
        if (f == m.phases[j].faults.end()) {
          known = false;
          break;
        }
        faults += f->second.faults_injected;
        requests += f->second.requests;
      }
      if (!known || faults > 0) continue;
      IdleToxics idle;
      idle.occurrence = k;
      idle.phase = m.phases[k].name;
      idle.start_seconds = m.phases[k].start_seconds;
      idle.proxy = name;
      idle.toxics = std::move(active);
      idle.requests = requests;
      idle.connections = m.phases[k].faults.at(name).connections;
      if (from < k) idle.since_phase = m.phases[from].name;
      out.push_back(std::move(idle));
    }
  }
  return out;
}

std::string warning_text(const IdleToxics& idle) {
  std::string toxics;
  for (const auto& t : idle.toxics)
    toxics += (toxics.empty() ? "" : ", ") + t;
  std::string counted = fmt::format("{:.0f} requests", idle.requests);
  if (idle.connections) counted += fmt::format(", {:.0f} connections", *idle.connections);
  if (!idle.since_phase.empty()) counted += ", counted since phase " + idle.since_phase;
  return fmt::format(
      "phase {} (from {:.1f} s): the toxics of proxy {} ({}) injected no fault ({}); the phase "
      "measured the system without its fault",
      idle.phase, idle.start_seconds, idle.proxy, toxics, counted);
}

void mark_inconclusive(const Scenario& s, const std::vector<IdleToxics>& idle,
                       std::vector<AssertionResult>& results) {
  for (std::size_t i = 0; i < s.assertions.size() && i < results.size(); ++i) {
    const Assertion& a = *s.assertions[i];
    AssertionResult& r = results[i];
    if (r.not_run || r.inconclusive || !a.requires_faults()) continue;
    const auto proxies = a.referenced_proxies();
    for (const auto& x : idle) {
      if (a.common().phase != "*" && a.common().phase != x.phase) continue;
      if (!proxies.empty() && std::find(proxies.begin(), proxies.end(), x.proxy) == proxies.end())
        continue;
      r.pass = false;
      r.inconclusive = true;
      r.message = fmt::format("inconclusive (require_faults): {}. As measured: {}", warning_text(x),
                              r.message);
      break;
    }
  }
}

}  // namespace faultline::runner
