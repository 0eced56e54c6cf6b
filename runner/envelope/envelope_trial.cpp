// One envelope trial (envelope_trial.hpp): a `faultline run` in-process, with its own load
// generator (whose rate is fixed when it starts), on the system kept from the trial before when
// the plan reuses it, else on a system of its own.
#include "runner/envelope/envelope_trial.hpp"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/cli.hpp"
#include "runner/orchestrator.hpp"
#include "runner/scenario/scenario.hpp"

namespace faultline::runner::envelope {

namespace fs = std::filesystem;

namespace {

// Single quotes when the shell would otherwise split or expand the word.
std::string shell_word(const std::string& w) {
  if (!w.empty() && w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789._-/=:,+@%") == std::string::npos)
    return w;
  std::string out = "'";
  for (char c : w)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::optional<double> number_at(const json& j, const char* a, const char* b = nullptr) {
  const json* cur = &j;
  for (const char* k : {a, b}) {
    if (!k) break;
    if (!cur->is_object() || !cur->contains(k)) return std::nullopt;
    cur = &(*cur)[k];
  }
  return cur->is_number() ? std::optional(cur->get<double>()) : std::nullopt;
}

json opt(std::optional<double> v) {
  return v ? json(*v) : json(nullptr);
}

}  // namespace

std::string format_value(double v, bool integer) {
  if (integer || (std::floor(v) == v && std::abs(v) < 1e15))
    return fmt::format("{}", static_cast<long long>(std::llround(v)));
  return fmt::format("{}", v);
}

json number_json(double v) {
  if (std::floor(v) == v && std::abs(v) < 1e15) return static_cast<std::int64_t>(v);
  return v;
}

std::vector<std::string> trial_overrides(const Plan& plan, const Point& p) {
  std::vector<std::string> sets = plan.base_sets;
  sets.push_back("load.rate=" + format_value(p.load, plan.integer_load));
  for (const auto& k : plan.fault.set_keys)
    sets.push_back(k + "=" + format_value(p.fault, plan.fault.integer));
  return sets;
}

std::optional<double> slo_margin(const SloBound& b, std::optional<double> measured) {
  if (!measured) return std::nullopt;
  std::optional<double> m;
  auto take = [&](double v) { m = m ? std::min(*m, v) : v; };
  if (b.max) take(*b.max > 0 ? (*b.max - *measured) / *b.max : -*measured);
  if (b.min) take(*b.min > 0 ? (*measured - *b.min) / *b.min : *measured);
  return m;
}

SloBound resolved_slo(const SloBound& b, const json& assertions) {
  SloBound r = b;
  if (!b.relative_max) return r;
  r.max = std::nullopt;
  for (const auto& a : assertions)
    if (a.value("name", std::string()) == b.name) r.max = number_at(a, "bound_max");
  return r;
}

TrialRunner::TrialRunner(const Plan& plan, std::string faultline_exe)
    : plan_(plan), exe_(std::move(faultline_exe)) {}

std::optional<Trial> TrialRunner::operator()(const Point& p) {
  const int id = next_++;
  const std::string rel = fmt::format("trials/{:03}", id);
  const fs::path out = fs::absolute(fs::path(plan_.out_dir) / rel).lexically_normal();
  const auto sets = trial_overrides(plan_, p);
  std::string command = "faultline run " + shell_word(plan_.scenario_file);
  if (plan_.trial_seconds)
    command += " --duration " + format_value(*plan_.trial_seconds, false) + "s";
  for (const auto& s : sets)
    command += " --set " + shell_word(s);
  command += " --out " + shell_word(out.string());

  Trial t;
  t.point = p;
  const auto started = std::chrono::steady_clock::now();
  int code = kExitUsage;
  std::string error;
  if (plan_.reuse_system && !keep_)
    keep_ = std::make_shared<KeptSystem>((fs::path(plan_.out_dir) / "systems").string());
  const int starts_before = keep_ ? keep_->starts() : 0;
  // The run's own progress lines would bury the envelope's one line per trial; its warnings and
  // errors still show, and its logs are in the trial's directory.
  const auto level = spdlog::get_level();
  if (level == spdlog::level::info) spdlog::set_level(spdlog::level::warn);
  try {
    Scenario s = load_scenario(plan_.scenario_file, sets, plan_.trial_seconds);
    RunOptions o;
    o.out_dir = out.string();
    o.faultline_exe = exe_;
    o.print_summary = false;
    o.checkpoint_interval_seconds = 0;
    if (const char* tok = std::getenv("FAULTLINE_API_TOKEN")) o.api_token = tok;
    RunContext ctx{out.string(), exe_, {}};
    if (keep_) {
      o.keep_system = keep_;
      // The kept system's ports and TLS files (empty when this trial starts it).
      ctx.fixed_values = keep_->placeholder_values();
    }
    s = resolve_for_run(s, ctx);
    code = run_scenario(s, o);
  } catch (const std::exception& e) {
    error = e.what();
  }
  spdlog::set_level(level);
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (code == 130) return std::nullopt;

  json results = json::object();
  try {
    results = load_json_file((out / "results.json").string());
  } catch (const std::exception& e) {
    if (error.empty()) error = e.what();
  }
  const std::string verdict = results.value("verdict", std::string("error"));
  if (error.empty() && results.contains("error") && results["error"].is_string())
    error = results["error"].get<std::string>();

  json verdicts = json::array();
  json measurements = json::object();
  bool pass = verdict != "error";
  std::optional<double> margin;
  const json& assertions = results.value("assertions", json::array());
  const json& phases = results.value("phases", json::array());
  for (const auto& b : plan_.slo) {
    json v = {{"name", b.name}, {"verdict", "not_run"}, {"measured", nullptr}};
    for (const auto& a : assertions) {
      if (a.value("name", std::string()) != b.name) continue;
      v = {{"name", b.name},
           {"kind", a.value("kind", std::string())},
           {"phase", a.value("phase", std::string())},
           {"measured", a.value("measured", json(nullptr))},
           {"bound", a.value("bound", std::string())},
           {"verdict", a.value("verdict", std::string("not_run"))},
           {"message", a.value("message", std::string())}};
    }
    const SloBound resolved = resolved_slo(b, assertions);
    const auto m = slo_margin(resolved, number_at(v, "measured"));
    if (b.relative_max) v["bound_max"] = opt(resolved.max);
    v["margin"] = opt(m);
    verdicts.push_back(v);
    if (v["verdict"] != "pass") pass = false;
    // A failed assertion counts as outside its bound even when the number says otherwise.
    const double eff = !m ? -1 : (v["verdict"] == "pass" ? *m : std::min(*m, 0.0));
    margin = margin ? std::min(*margin, eff) : eff;
    const std::string phase = v.value("phase", std::string());
    for (const auto& ph : phases) {
      if (phase.empty() || ph.value("name", std::string()) != phase || measurements.contains(phase))
        continue;
      const json& load = ph.value("load", json::object());
      measurements[phase] = {
          {"throughput_rps", opt(number_at(load, "throughput_rps"))},
          {"error_ratio", opt(number_at(load, "error_ratio"))},
          {"p50_seconds", opt(number_at(load.value("latency_seconds", json::object()), "p50"))},
          {"p99_seconds", opt(number_at(load.value("latency_seconds", json::object()), "p99"))},
          {"requests", load.value("requests", json::object()).value("total", json(nullptr))}};
    }
  }
  if (!pass && margin && *margin > 0) margin = 0;

  json system = nullptr;
  // Reused unless the run started a system (none was kept, or the kept one was broken).
  const bool reused = keep_ && keep_->starts() == starts_before;
  if (keep_) {
    system = {{"id", keep_->starts()}, {"reused", reused}};
    // With recovery_time assertions they decide (also after a trial that held its SLO); without,
    // a failed trial's system is not trusted.
    const bool stop = plan_.recovery_assertions.empty() ? !pass : !recovered(results);
    if (keep_->holds() && stop) {
      stop_system();
      system["stopped_after"] =
          plan_.recovery_assertions.empty()
              ? "the trial failed (the scenario has no recovery_time assertion to say the "
                "system recovered)"
              : "a recovery_time assertion did not pass";
    } else if (!keep_->holds()) {
      system["stopped_after"] = "the run ended in error or was interrupted";
    }
  }

  t.pass = pass;
  t.margin = margin;
  t.record = {{"load", number_json(p.load)},
              {"fault", number_json(p.fault)},
              {"pass", pass},
              {"run_verdict", verdict},
              {"margin", opt(margin)},
              {"verdicts", verdicts},
              {"measurements", measurements},
              {"set", sets},
              {"command", command},
              {"out", rel},
              {"seconds", t.seconds},
              {"system", system}};
  if (!error.empty()) t.record["error"] = error;
  spdlog::info("envelope: trial {} at {} req/s, {} = {}: {} ({:.1f}s{})", id,
               format_value(p.load, plan_.integer_load), plan_.fault.label(),
               format_value(p.fault, plan_.fault.integer), pass ? "holds" : "fails", t.seconds,
               !keep_   ? ""
               : reused ? ", system reused"
                        : ", system started");
  return t;
}

void TrialRunner::stop_system() {
  if (!keep_) return;
  // Its components' "stopped" lines would interleave with the envelope's one line per trial.
  const auto level = spdlog::get_level();
  if (level == spdlog::level::info) spdlog::set_level(spdlog::level::warn);
  keep_->stop();
  spdlog::set_level(level);
}

bool TrialRunner::recovered(const json& results) const {
  if (plan_.recovery_assertions.empty()) return false;
  const json& assertions = results.value("assertions", json::array());
  for (const auto& name : plan_.recovery_assertions) {
    bool passed = false;
    for (const auto& a : assertions)
      if (a.value("name", std::string()) == name && a.value("verdict", std::string()) == "pass")
        passed = true;
    if (!passed) return false;
  }
  return true;
}

json TrialRunner::system_json() const {
  json j = {{"reused", plan_.reuse_system}, {"starts", keep_ ? keep_->starts() : next_ - 1}};
  j["fresh_reason"] = plan_.reuse_system ? json(nullptr) : json(plan_.fresh_reason);
  j["recovery_assertions"] = plan_.recovery_assertions;
  return j;
}

}  // namespace faultline::runner::envelope
