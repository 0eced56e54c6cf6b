// Collector (see collector.hpp).
#include "runner/ledger/collector.hpp"

#include <algorithm>
#include <cmath>

#include <spdlog/spdlog.h>

#include "common/histogram.hpp"
#include "runner/ledger/scrape_figures.hpp"
#include "runner/scenario/component_id.hpp"

namespace faultline::runner {

namespace {

struct NameAcc {
  std::uint64_t total = 0, ok = 0, failed = 0;
  Histogram hist;
};

std::uint64_t u64(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return 0;
  double d = it->get<double>();
  return d > 0 ? static_cast<std::uint64_t>(std::llround(d)) : 0;
}

LatencySummary summarize(const Histogram& h) {
  LatencySummary s;
  if (h.empty()) return s;
  s.p50 = h.percentile_seconds(50);
  s.p90 = h.percentile_seconds(90);
  s.p99 = h.percentile_seconds(99);
  s.p999 = h.percentile_seconds(99.9);
  s.max = static_cast<double>(h.max().count()) / 1e9;
  s.mean = h.mean_seconds();
  return s;
}

std::optional<double> num(const json& j, const char* a, const char* b) {
  auto it = j.find(a);
  if (it == j.end() || !it->is_object()) return std::nullopt;
  auto jt = it->find(b);
  if (jt == it->end() || !jt->is_number()) return std::nullopt;
  return jt->get<double>();
}

// The load generator's "schedule" object of one interval line; all 0 when absent (closed
// models write sent == offered and nothing late; files older than the object have none).
// `intended`: the counters are of the arrivals intended in the line's second ("attributed":
// "intended", since 2026-12), so its unsent are its dropped + unsent; older lines counted them
// when the generator saw them, and their unsent are dropped + backlog growth.
struct Schedule {
  std::uint64_t offered = 0, sent = 0, late = 0, dropped = 0, backlog = 0, unsent = 0;
  bool intended = false;
};

Schedule schedule_of(const json& line) {
  Schedule s;
  auto it = line.find("schedule");
  if (it == line.end() || !it->is_object()) return s;
  s.offered = u64(*it, "offered");
  s.sent = u64(*it, "sent");
  s.late = u64(*it, "late");
  s.dropped = u64(*it, "dropped");
  s.backlog = u64(*it, "backlog");
  if (auto a = it->find("attributed"); a != it->end() && *a == "intended") {
    s.intended = true;
    s.unsent = u64(*it, "unsent");
    return s;
  }
  // The last line says how many arrivals were still queued when the run ended; they were never
  // sent, so they count as backlog that did not drain.
  s.backlog = std::max({s.backlog, u64(line, "unsent"), u64(*it, "unsent")});
  return s;
}

}  // namespace

double apdex_score(std::uint64_t satisfied, std::uint64_t tolerating, std::uint64_t total) {
  if (total == 0) return 0;
  return (static_cast<double>(satisfied) + static_cast<double>(tolerating) / 2) /
         static_cast<double>(total);
}

struct Collector::Accumulator {
  double seconds = 0;  // intervals seen
  std::uint64_t total = 0, ok = 0, failed = 0;
  std::uint64_t offered = 0, sent = 0, late = 0;
  // Unsent arrivals of this window are its drops plus, for lines by intended second, their
  // `unsent` (unsent_merged), or for older lines its backlog growth (backlog at the end of its
  // last second minus the one at the end of the second before its first); a merged window adds
  // up the unsent of its parts (unsent_merged).
  std::uint64_t dropped = 0, unsent_merged = 0;
  std::optional<std::uint64_t> backlog_start;
  std::uint64_t backlog_end = 0;
  std::map<std::string, std::uint64_t> errors;
  Histogram hist;
  std::map<std::string, NameAcc> names;
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> checks;  // passed, failed
  std::map<std::string, SessionStats> sessions;

  std::uint64_t unsent() const {
    const std::uint64_t growth =
        backlog_start && backlog_end > *backlog_start ? backlog_end - *backlog_start : 0;
    return unsent_merged + dropped + growth;
  }

  void merge(const Accumulator& o) {
    seconds += o.seconds;
    total += o.total;
    ok += o.ok;
    failed += o.failed;
    offered += o.offered;
    sent += o.sent;
    late += o.late;
    unsent_merged += o.unsent();
    for (const auto& [k, v] : o.errors)
      errors[k] += v;
    hist.merge(o.hist);
    for (const auto& [k, v] : o.names) {
      auto& n = names[k];
      n.total += v.total;
      n.ok += v.ok;
      n.failed += v.failed;
      n.hist.merge(v.hist);
    }
    for (const auto& [k, v] : o.checks) {
      checks[k].first += v.first;
      checks[k].second += v.second;
    }
    for (const auto& [k, v] : o.sessions)
      sessions[k].add(v);
  }
};

Collector::Collector(std::vector<PhaseWindow> phases, double end_seconds, double apdex_t_seconds,
                     std::vector<std::string> proxies)
    : phases_(std::move(phases)),
      end_seconds_(end_seconds),
      apdex_t_(apdex_t_seconds),
      proxies_(std::move(proxies)) {
  for (std::size_t i = 0; i < phases_.size(); ++i)
    acc_.push_back(std::make_unique<Accumulator>());
  actual_.resize(phases_.size() + 1, NAN);
  for (std::size_t i = 0; i < phases_.size(); ++i)
    actual_[i] = phases_[i].start;
  actual_[phases_.size()] = end_seconds_;
  started_ = phases_.size();
}

void Collector::truncate(std::size_t started, double at) {
  if (started >= phases_.size()) return;
  started_ = started;
  if (started > 0) actual_[started] = at;
}

Collector::~Collector() = default;

std::size_t Collector::phase_of(double t) const {
  // An interval belongs to the phase its midpoint falls in (intervals are whole seconds since the
  // load started; phases start at their scheduled times, or their actual ones when those were
  // late by more than 250 ms).
  std::size_t k = 0;
  for (std::size_t i = 0; i < phases_.size(); ++i)
    if (t >= phases_[i].start) k = i;
  return k;
}

void Collector::add_interval(const json& line) {
  if (!line.is_object() || !line.contains("t") || !line["t"].is_number() ||
      !line.contains("requests")) {
    ++malformed_;
    return;
  }
  try {
    const double t = line["t"].get<double>();
    const std::size_t k = phase_of(t - 0.5);
    Accumulator& a = *acc_[k];
    const json& req = line["requests"];
    const std::uint64_t total = u64(req, "total"), ok = u64(req, "ok"), failed = u64(req, "failed");
    a.seconds += 1;
    a.total += total;
    a.ok += ok;
    a.failed += failed;
    const Schedule sch = schedule_of(line);
    a.offered += sch.offered;
    a.sent += sch.sent;
    a.late += sch.late;
    a.dropped += sch.dropped;
    std::uint64_t unsent = sch.dropped;
    if (sch.intended) {
      a.unsent_merged += sch.unsent;
      unsent += sch.unsent;
    } else {
      if (!a.backlog_start) a.backlog_start = last_backlog_;
      a.backlog_end = sch.backlog;
      if (sch.backlog > last_backlog_) unsent += sch.backlog - last_backlog_;
      last_backlog_ = sch.backlog;
    }
    if (auto it = line.find("errors"); it != line.end() && it->is_object())
      for (const auto& [kind, n] : it->items())
        if (n.is_number() && n.get<double>() > 0)
          a.errors[kind] += static_cast<std::uint64_t>(n.get<double>());
    if (auto it = line.find("histogram"); it != line.end() && it->is_object())
      a.hist.merge(Histogram::from_json(*it));
    if (auto it = line.find("requests_by_name"); it != line.end() && it->is_object()) {
      for (const auto& [name, v] : it->items()) {
        NameAcc& n = a.names[name];
        n.total += u64(v, "total");
        n.ok += u64(v, "ok");
        n.failed += u64(v, "failed");
        if (auto h = v.find("histogram"); h != v.end() && h->is_object())
          n.hist.merge(Histogram::from_json(*h));
      }
    }
    if (auto it = line.find("checks"); it != line.end() && it->is_object())
      for (const auto& [name, v] : it->items()) {
        a.checks[name].first += u64(v, "passed");
        a.checks[name].second += u64(v, "failed");
      }
    if (auto it = line.find("sessions"); it != line.end() && it->is_object())
      for (const auto& [name, v] : it->items()) {
        if (!v.is_object()) continue;
        SessionStats s;
        s.opened = u64(v, "opened");
        s.completed = u64(v, "completed");
        s.ended_early = u64(v, "ended_early");
        s.reconnects = u64(v, "reconnects");
        if (auto cc = v.find("close_codes"); cc != v.end() && cc->is_object())
          for (const auto& [code, n] : cc->items())
            s.close_codes[code] += u64(*cc, code.c_str());
        a.sessions[name].add(s);
      }
    SeriesPoint sp;
    sp.t = t;
    sp.phase = phases_[k].name;
    if (auto it = line.find("throughput_rps"); it != line.end() && it->is_number())
      sp.throughput_rps = it->get<double>();
    else
      sp.throughput_rps = static_cast<double>(total);
    sp.unsent = unsent;
    if (total + unsent > 0)
      sp.error_ratio = static_cast<double>(failed + unsent) / static_cast<double>(total + unsent);
    if (ok + failed > 0 && line.contains("histogram") && line["histogram"].value("count", 0) > 0) {
      sp.p50_seconds = num(line, "latency_seconds", "p50");
      sp.p99_seconds = num(line, "latency_seconds", "p99");
    }
    series_.push_back(std::move(sp));
    ++intervals_;
  } catch (const std::exception& e) {
    spdlog::warn("run: skipping a malformed interval line: {}", e.what());
    ++malformed_;
  }
}

void Collector::set_boundary(std::size_t k, double actual_seconds, const std::string& component,
                             const PromSnapshot& snapshot) {
  if (k > phases_.size()) return;
  auto& v = boundary_[component];
  v.resize(phases_.size() + 1);
  v[k] = snapshot;
  set_boundary_time(k, actual_seconds);
}

void Collector::set_boundary_time(std::size_t k, double actual_seconds) {
  if (k > phases_.size()) return;
  actual_[k] = actual_seconds;
  // An action that ran late (CPU contention) moves the phase's start for the interval assignment;
  // a few milliseconds of API latency do not, so an interval that straddles a boundary exactly in
  // its middle goes to the later phase (the fault starts there) deterministically.
  if (k < phases_.size() && actual_seconds - phases_[k].start > 0.25)
    phases_[k].start = actual_seconds;
}

void Collector::add_resources(double t, std::map<std::string, double> values) {
  for (const auto& [key, v] : values) {
    auto it = resource_index_.find(key);
    if (it == resource_index_.end()) {
      it = resource_index_.emplace(key, static_cast<std::uint32_t>(resource_keys_.size())).first;
      resource_keys_.push_back(key);
    }
    resource_values_.emplace_back(it->second, v);
  }
  resource_t_.push_back(t);
  resource_end_.push_back(resource_values_.size());
}

PhaseStats Collector::compute(const Accumulator& a, const std::string& name) const {
  PhaseStats p;
  p.name = name;
  LoadStats& l = p.load;
  l.present = a.seconds > 0;
  l.seconds = a.seconds;
  l.total = a.total;
  l.ok = a.ok;
  l.failed = a.failed;
  l.offered = a.offered;
  l.sent = a.sent;
  l.late = a.late;
  l.unsent = a.unsent();
  l.errors = a.errors;
  if (l.unsent > 0) l.errors["unsent"] = l.unsent;
  l.apdex_t_seconds = apdex_t_;
  // Unsent arrivals are failures too, but throughput, latency and Apdex stay about the requests
  // that were answered.
  if (a.total + l.unsent > 0)
    l.error_ratio =
        static_cast<double>(a.failed + l.unsent) / static_cast<double>(a.total + l.unsent);
  if (a.seconds > 0) l.throughput_rps = static_cast<double>(a.total) / a.seconds;
  l.latency = summarize(a.hist);
  if (a.total > 0) {
    // Satisfied (<= T) and tolerating (<= 4T) responses from the histogram of answered requests,
    // scaled by the share of those that were ok; failed requests count as frustrated.
    std::uint64_t sat = 0, tol = 0;
    if (!a.hist.empty()) {
      const double t_ns = apdex_t_ * 1e9;
      a.hist.for_each_bucket([&](std::size_t idx, std::uint64_t c) {
        const double v = static_cast<double>(Histogram::highest_equivalent(idx));
        if (v <= t_ns)
          sat += c;
        else if (v <= 4 * t_ns)
          tol += c;
      });
      const double ok_share =
          std::min(1.0, static_cast<double>(a.ok) / static_cast<double>(a.hist.count()));
      sat = static_cast<std::uint64_t>(std::llround(static_cast<double>(sat) * ok_share));
      tol = static_cast<std::uint64_t>(std::llround(static_cast<double>(tol) * ok_share));
    }
    l.apdex = apdex_score(sat, tol, a.total);
  }
  for (const auto& [n, v] : a.names) {
    RequestNameStats r;
    r.total = v.total;
    r.ok = v.ok;
    r.failed = v.failed;
    if (v.total > 0) r.error_ratio = static_cast<double>(v.failed) / static_cast<double>(v.total);
    r.latency = summarize(v.hist);
    l.by_name[n] = r;
  }
  l.checks = a.checks;
  l.sessions = a.sessions;
  return p;
}

std::optional<double> Collector::resource_in(const std::string& key, double from, double to) const {
  const auto it = resource_index_.find(key);
  if (it == resource_index_.end()) return std::nullopt;
  // Samples are in time order: walk back from the last one at or before `to`.
  auto i = static_cast<std::size_t>(
      std::upper_bound(resource_t_.begin(), resource_t_.end(), to + 1e-6) - resource_t_.begin());
  for (; i > 0 && resource_t_[i - 1] >= from - 1e-6; --i)
    for (std::size_t j = i >= 2 ? resource_end_[i - 2] : 0; j < resource_end_[i - 1]; ++j)
      if (resource_values_[j].first == it->second) return resource_values_[j].second;
  return std::nullopt;
}

void Collector::fill_components(PhaseStats& p, std::size_t k) const {
  for (const auto& [component, snaps] : boundary_) {
    ComponentStats c;
    if (k + 1 < snaps.size() && snaps[k + 1]) {
      c.rss_bytes = snaps[k + 1]->sum("process_resident_memory_bytes");
      c.open_fds = snaps[k + 1]->sum("process_open_fds");
    } else {
      c.rss_bytes = resource_in(ComponentId::rss_key(component), actual_[k], actual_[k + 1]);
      c.open_fds = resource_in(ComponentId::open_fds_key(component), actual_[k], actual_[k + 1]);
    }
    if (c.rss_bytes || c.open_fds) p.components[component] = c;
  }
}

RunMeasurements Collector::finish() const {
  RunMeasurements m;
  const std::size_t n = started_;
  auto delta = [&](const std::string& comp, std::size_t k) -> std::optional<PromSnapshot> {
    auto it = boundary_.find(comp);
    if (it == boundary_.end() || k + 1 >= it->second.size() || !it->second[k] || !it->second[k + 1])
      return std::nullopt;
    return it->second[k + 1]->delta_since(*it->second[k]);
  };
  std::map<std::string, Accumulator> merged;
  std::map<std::string, std::pair<PromSnapshot, bool>> merged_target, merged_proxy;
  std::map<std::string, double> merged_seconds;
  std::map<std::string, std::pair<double, double>> span;
  std::map<std::string, bool> merged_fault;
  std::map<std::string, std::size_t> last_index;
  // Connections per proxy, added over the occurrences (a merged phase has no one start scrape).
  std::map<std::string, std::map<std::string, double>> merged_connections;
  Accumulator whole;
  std::pair<PromSnapshot, bool> whole_target{{}, false}, whole_proxy{{}, false};
  for (std::size_t k = 0; k < n; ++k) {
    const std::string& name = phases_[k].name;
    PhaseStats p = compute(*acc_[k], name);
    p.start_seconds = actual_[k];
    p.end_seconds = actual_[k + 1];
    p.fault = phases_[k].fault;
    const double secs = std::max(0.0, p.end_seconds - p.start_seconds);
    auto td = delta("target", k);
    auto pd = delta("proxy", k);
    const PromSnapshot* proxy_start = nullptr;
    if (auto it = boundary_.find("proxy");
        it != boundary_.end() && k < it->second.size() && it->second[k])
      proxy_start = &*it->second[k];
    fill_from_deltas(p, td ? &*td : nullptr, pd ? &*pd : nullptr, proxy_start, proxies_, secs);
    for (const auto& [proxy, f] : p.faults)
      if (f.connections) {
        merged_connections[name][proxy] += *f.connections;
        merged_connections["*"][proxy] += *f.connections;
      }
    fill_components(p, k);
    m.phases.push_back(std::move(p));

    merged[name].merge(*acc_[k]);
    whole.merge(*acc_[k]);
    for (auto [src, dst, whole_dst] : {std::tuple{&td, &merged_target[name], &whole_target},
                                       std::tuple{&pd, &merged_proxy[name], &whole_proxy}}) {
      if (!*src) continue;
      dst->first.add(**src);
      dst->second = true;
      whole_dst->first.add(**src);
      whole_dst->second = true;
    }
    merged_seconds[name] += secs;
    if (!span.count(name)) span[name] = {actual_[k], actual_[k + 1]};
    span[name].second = actual_[k + 1];
    merged_fault[name] = merged_fault[name] || phases_[k].fault;
    last_index[name] = k;
  }
  auto finish_one = [&](const std::string& name, const Accumulator& a,
                        const std::pair<PromSnapshot, bool>& t,
                        const std::pair<PromSnapshot, bool>& px, double secs, double start,
                        double end, bool fault, std::size_t last) {
    PhaseStats p = compute(a, name);
    p.start_seconds = start;
    p.end_seconds = end;
    p.fault = fault;
    fill_from_deltas(p, t.second ? &t.first : nullptr, px.second ? &px.first : nullptr, nullptr,
                     proxies_, secs);
    for (auto& [proxy, f] : p.faults)
      if (auto c = merged_connections[name].find(proxy); c != merged_connections[name].end()) {
        f.connections = c->second;
        if (c->second > 0) f.faults_per_connection = f.faults_injected / c->second;
      }
    fill_components(p, last);
    m.by_name[name] = std::move(p);
  };
  for (const auto& [name, a] : merged)
    finish_one(name, a, merged_target[name], merged_proxy[name], merged_seconds[name],
               span[name].first, span[name].second, merged_fault[name], last_index[name]);
  if (n > 0) {
    double total_secs = 0;
    bool any_fault = false;
    for (const auto& [name, s] : merged_seconds)
      total_secs += s;
    for (const auto& ph : phases_)
      any_fault = any_fault || ph.fault;
    finish_one("*", whole, whole_target, whole_proxy, total_secs, actual_[0], actual_[n], any_fault,
               n - 1);
  }

  // Series: join the latest resource sample at or before each point.
  m.series = series_;
  std::size_t r = 0;
  std::vector<std::optional<double>> latest(resource_keys_.size());
  for (auto& sp : m.series) {
    while (r < resource_t_.size() && resource_t_[r] <= sp.t + 1e-6) {
      for (std::size_t i = r ? resource_end_[r - 1] : 0; i < resource_end_[r]; ++i)
        latest[resource_values_[i].first] = resource_values_[i].second;
      ++r;
    }
    for (std::size_t k = 0; k < latest.size(); ++k)
      if (latest[k]) sp.resources.emplace(resource_keys_[k], *latest[k]);
  }
  return m;
}

}  // namespace faultline::runner
