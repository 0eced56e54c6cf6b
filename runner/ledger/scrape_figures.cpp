// A phase's figures from the boundary scrapes (see scrape_figures.hpp).
#include "runner/ledger/scrape_figures.hpp"

#include <algorithm>

namespace faultline::runner {

namespace {

// Outcomes of faultline_target_shard_requests_total that are not failures.
bool outcome_ok(const std::string& outcome) {
  return outcome == "ok" || outcome == "success" || outcome == "not_found" ||
         outcome == "client_error";
}

}  // namespace

void fill_from_deltas(PhaseStats& p, const PromSnapshot* target, const PromSnapshot* proxy,
                      const PromSnapshot* proxy_start, const std::vector<std::string>& proxies,
                      double seconds) {
  if (proxy) {
    for (const auto& name : proxies) {
      FaultStats f;
      auto req = proxy->sum("faultline_proxy_requests_total", {{"proxy", name}});
      if (!req) continue;  // the proxy does not export this one
      f.requests = *req;
      f.faults_injected =
          proxy->sum("faultline_proxy_faults_injected_total", {{"proxy", name}}).value_or(0);
      for (const auto& s : proxy->samples())
        if (s.name == "faultline_proxy_faults_injected_total" && s.labels.count("proxy") &&
            s.labels.at("proxy") == name && s.labels.count("kind") && s.value > 0)
          f.by_kind[s.labels.at("kind")] += s.value;
      if (f.requests > 0) f.fault_ratio = std::min(1.0, f.faults_injected / f.requests);
      // The connections the proxy carried in the phase: those open when it began and those
      // accepted during it. For a tcp proxy, the units its toxics draw for.
      const auto open =
          proxy_start ? proxy_start->sum("faultline_proxy_connections_active", {{"proxy", name}})
                      : std::nullopt;
      const auto accepted =
          proxy->sum("faultline_proxy_connections_accepted_total", {{"proxy", name}});
      if (open && accepted) {
        f.connections = *open + *accepted;
        if (*f.connections > 0) f.faults_per_connection = f.faults_injected / *f.connections;
      }
      p.faults[name] = f;
    }
  }
  if (target) {
    const std::string rq = "faultline_target_shard_requests_total";
    for (const auto& shard : target->label_values(rq, "shard")) {
      ShardStats s;
      s.seconds = seconds;
      for (const auto& smp : target->samples()) {
        if (smp.name != rq || !smp.labels.count("shard") || smp.labels.at("shard") != shard)
          continue;
        s.requests += smp.value;
        auto o = smp.labels.find("outcome");
        if (o != smp.labels.end() && !outcome_ok(o->second)) s.errors += smp.value;
      }
      if (s.requests > 0) {
        s.error_ratio = s.errors / s.requests;
        s.p99_seconds = histogram_quantile(
            *target, "faultline_target_shard_request_duration_seconds", {{"shard", shard}}, 0.99);
      }
      if (seconds > 0) s.throughput_rps = s.requests / seconds;
      p.shards[shard] = s;
    }
  }
}

}  // namespace faultline::runner
