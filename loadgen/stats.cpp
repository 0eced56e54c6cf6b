// Counters and latency histograms of one scope, and their JSON (see stats.hpp).
#include "loadgen/stats.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace faultline::loadgen {
namespace {
constexpr std::array<const char*, kErrorKinds> kNames = {
    "connect_refused", "connect_timeout", "reset",           "read_timeout", "http_4xx",
    "http_5xx",        "bad_response",    "invalid_request", "closed"};
}

const char* error_kind_name(std::size_t kind) noexcept {
  return kind < kNames.size() ? kNames[kind] : "unknown";
}

std::optional<std::size_t> error_kind_from_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (name == kNames[i]) return i;
  return std::nullopt;
}

void Stats::record(Outcome outcome, std::chrono::nanoseconds corrected,
                   std::chrono::nanoseconds actual) {
  ++total;
  if (outcome == Outcome::ok)
    ++ok;
  else {
    ++failed;
    ++errors[static_cast<std::size_t>(outcome) - 1];
  }
  if (has_response(outcome)) {
    latency.record(corrected);
    uncorrected.record(actual);
  }
}

void Stats::merge(const Stats& other) {
  total += other.total;
  ok += other.ok;
  failed += other.failed;
  for (std::size_t i = 0; i < kErrorKinds; ++i)
    errors[i] += other.errors[i];
  latency.merge(other.latency);
  uncorrected.merge(other.uncorrected);
}

void Stats::reset() {
  total = ok = failed = 0;
  errors.fill(0);
  latency.reset();
  uncorrected.reset();
}

json latency_summary(const Histogram& h) {
  return json{{"p50", h.percentile_seconds(50)},
              {"p90", h.percentile_seconds(90)},
              {"p99", h.percentile_seconds(99)},
              {"p999", h.percentile_seconds(99.9)},
              {"p9999", h.percentile_seconds(99.99)},
              {"max", std::chrono::duration<double>(h.max()).count()},
              {"mean", h.mean_seconds()}};
}

json Stats::to_json(double duration_seconds, bool with_histograms) const {
  json errs = json::object();
  for (std::size_t i = 0; i < kErrorKinds; ++i)
    errs[kNames[i]] = errors[i];
  json j{{"requests", {{"total", total}, {"ok", ok}, {"failed", failed}}},
         {"errors", std::move(errs)},
         {"throughput_rps",
          duration_seconds > 0 ? static_cast<double>(total) / duration_seconds : 0.0},
         {"latency_seconds", latency_summary(latency)},
         {"latency_uncorrected_seconds", latency_summary(uncorrected)}};
  if (with_histograms)
    j["histograms"] = {{"latency", latency.to_json()},
                       {"latency_uncorrected", uncorrected.to_json()}};
  return j;
}

Stats Stats::from_json(const json& j, std::string_view path) {
  auto fail = [&](const std::string& what) { throw ConfigError(std::string(path) + ": " + what); };
  if (!j.is_object()) fail("expected an object");
  Stats s;
  auto count = [&](const json& obj, const char* key, std::string_view where) -> std::uint64_t {
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_number_unsigned())
      fail(std::string(where) + "." + key + " must be a non-negative integer");
    return it->get<std::uint64_t>();
  };
  auto req = j.find("requests");
  if (req == j.end() || !req->is_object()) fail("requests must be an object");
  s.total = count(*req, "total", "requests");
  s.ok = count(*req, "ok", "requests");
  s.failed = count(*req, "failed", "requests");
  auto errs = j.find("errors");
  if (errs == j.end() || !errs->is_object()) fail("errors must be an object");
  for (std::size_t i = 0; i < kErrorKinds; ++i)
    if (errs->contains(kNames[i])) s.errors[i] = count(*errs, kNames[i], "errors");
  auto h = j.find("histograms");
  if (h == j.end() || !h->is_object() || !h->contains("latency") ||
      !h->contains("latency_uncorrected"))
    fail("histograms.latency and histograms.latency_uncorrected are required");
  try {
    s.latency = Histogram::from_json((*h)["latency"]);
    s.uncorrected = Histogram::from_json((*h)["latency_uncorrected"]);
  } catch (const ConfigError& e) {
    fail(std::string("histograms: ") + e.what());
  }
  return s;
}

void HandshakeStats::record(bool ok, std::chrono::nanoseconds took) {
  ++total;
  if (ok)
    duration.record(took);
  else
    ++failed;
}

void HandshakeStats::merge(const HandshakeStats& other) {
  total += other.total;
  failed += other.failed;
  duration.merge(other.duration);
}

json HandshakeStats::to_json() const {
  return {{"handshakes", total},
          {"failed", failed},
          {"handshake_seconds", latency_summary(duration)},
          {"histogram", duration.to_json()}};
}

HandshakeStats HandshakeStats::from_json(const json& j, std::string_view path) {
  const auto fail = [&](const std::string& what) {
    throw ConfigError(fmt::format("{}: {}", path, what));
  };
  if (!j.is_object()) fail("expected an object");
  HandshakeStats s;
  for (auto [key, into] : {std::pair{"handshakes", &s.total}, std::pair{"failed", &s.failed}}) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_number_unsigned())
      fail(fmt::format("{} must be a non-negative integer", key));
    *into = it->get<std::uint64_t>();
  }
  if (!j.contains("histogram")) fail("histogram is required");
  try {
    s.duration = Histogram::from_json(j["histogram"]);
  } catch (const ConfigError& e) {
    fail(fmt::format("histogram: {}", e.what()));
  }
  return s;
}

namespace {
json ratio(std::uint64_t num, std::uint64_t den) {
  return den > 0 ? json(static_cast<double>(num) / static_cast<double>(den)) : json(nullptr);
}
}  // namespace

ScheduleCounts& ScheduleCounts::operator+=(const ScheduleCounts& o) noexcept {
  offered += o.offered;
  sent += o.sent;
  late += o.late;
  dropped += o.dropped;
  unsent += o.unsent;
  return *this;
}

json ScheduleCounts::to_json() const {
  return {{"offered", offered},
          {"sent", sent},
          {"late", late},
          {"dropped", dropped},
          {"unsent", unsent},
          {"late_ratio", ratio(late, sent)},
          {"unsent_ratio", ratio(never_sent(), offered)}};
}

ScheduleCounts ScheduleCounts::from_json(const json& j) {
  ScheduleCounts c;
  if (!j.is_object()) return c;
  auto count = [&](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
  };
  c.offered = count("offered");
  c.late = count("late");
  c.dropped = count("dropped");
  c.unsent = count("unsent");
  c.sent =
      j.contains("sent") ? count("sent") : c.offered - std::min(c.offered, c.dropped + c.unsent);
  return c;
}

SessionCounts& SessionCounts::operator+=(const SessionCounts& o) {
  opened += o.opened;
  completed += o.completed;
  ended_early += o.ended_early;
  reconnects += o.reconnects;
  for (const auto& [code, n] : o.close_codes)
    close_codes[code] += n;
  return *this;
}

json SessionCounts::to_json() const {
  json codes = json::object();
  for (const auto& [code, n] : close_codes)
    codes[std::to_string(code)] = n;
  return {{"opened", opened},
          {"completed", completed},
          {"ended_early", ended_early},
          {"reconnects", reconnects},
          {"close_codes", std::move(codes)}};
}

SessionCounts SessionCounts::from_json(const json& j) {
  SessionCounts c;
  if (!j.is_object()) return c;
  auto count = [](const json& v) {
    return v.is_number_unsigned() ? v.get<std::uint64_t>() : std::uint64_t{0};
  };
  for (auto [key, into] :
       {std::pair{"opened", &c.opened}, std::pair{"completed", &c.completed},
        std::pair{"ended_early", &c.ended_early}, std::pair{"reconnects", &c.reconnects}})
    if (auto it = j.find(key); it != j.end()) *into = count(*it);
  if (auto codes = j.find("close_codes"); codes != j.end() && codes->is_object())
    for (const auto& [code, n] : codes->items()) {
      unsigned value = 0;
      const auto [p, ec] = std::from_chars(code.data(), code.data() + code.size(), value);
      if (ec != std::errc{} || p != code.data() + code.size() || value > 65535) continue;
      if (const std::uint64_t k = count(n); k > 0)
        c.close_codes[static_cast<std::uint16_t>(value)] += k;
    }
  return c;
}

json sessions_to_json(const std::vector<std::string>& names,
                      const std::vector<SessionCounts>& counts) {
  json out = json::object();
  for (std::size_t i = 0; i < names.size(); ++i)
    out[names[i]] = i < counts.size() ? counts[i].to_json() : SessionCounts{}.to_json();
  return out;
}

void add_never_sent(json& j, std::uint64_t never_sent) {
  j["requests"]["unsent"] = never_sent;
  j["errors"]["unsent"] = never_sent;
  const auto total = j["requests"]["total"].get<std::uint64_t>();
  const auto failed = j["requests"]["failed"].get<std::uint64_t>();
  j["error_ratio"] = ratio(failed + never_sent, total + never_sent);
}

}  // namespace faultline::loadgen
