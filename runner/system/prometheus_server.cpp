// A run's Prometheus: writes its configuration (JSON, which is valid YAML), starts Debian's
// `prometheus` on a free loopback port, waits for /-/ready, and talks to its HTTP API for instant
// queries (/api/v1/query) and scrape progress (/api/v1/targets).
#include "runner/system/prometheus_server.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <tuple>

#include <fmt/format.h>

#include "common/config.hpp"
#include "common/http_client.hpp"
#include "common/subprocess.hpp"
#include "runner/system/run_error.hpp"

namespace faultline::runner {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kReadyTimeout = 30s;
constexpr int kStartAttempts = 4;

}  // namespace

std::string url_encode(std::string_view s) {
  std::string out;
  out.reserve(s.size() * 3);
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
      out += ch;
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
long long days_from_civil(long long y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

// Reads `n` decimal digits at `pos`, advancing it.
std::optional<unsigned> digits(std::string_view s, std::size_t& pos, std::size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  unsigned v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  pos += n;
  return v;
}

bool expect_char(std::string_view s, std::size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

// RFC 3339 ("2026-11-30T15:04:05.123456789Z", "...+01:00") to Unix seconds; nullopt if malformed.
std::optional<double> parse_rfc3339(std::string_view s) {
  std::size_t p = 0;
  auto year = digits(s, p, 4);
  if (!year || !expect_char(s, p, '-')) return std::nullopt;
  auto month = digits(s, p, 2);
  if (!month || !expect_char(s, p, '-')) return std::nullopt;
  auto day = digits(s, p, 2);
  if (!day || p >= s.size() || (s[p] != 'T' && s[p] != 't' && s[p] != ' ')) return std::nullopt;
  ++p;
  auto hour = digits(s, p, 2);
  if (!hour || !expect_char(s, p, ':')) return std::nullopt;
  auto minute = digits(s, p, 2);
  if (!minute || !expect_char(s, p, ':')) return std::nullopt;
  auto second = digits(s, p, 2);
  if (!second) return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > 31 || *hour > 23 || *minute > 59 ||
      *second > 60)
    return std::nullopt;
  double frac = 0;
  if (p < s.size() && s[p] == '.') {
    ++p;
    double scale = 0.1;
    const std::size_t start = p;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      frac += scale * (s[p] - '0');
      scale /= 10;
      ++p;
    }
    if (p == start) return std::nullopt;
  }
  long long offset = 0;
  if (p < s.size() && (s[p] == 'Z' || s[p] == 'z')) {
    ++p;
  } else if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
    const int sign = s[p] == '-' ? -1 : 1;
    ++p;
    auto oh = digits(s, p, 2);
    if (!oh || !expect_char(s, p, ':')) return std::nullopt;
    auto om = digits(s, p, 2);
    if (!om || *oh > 23 || *om > 59) return std::nullopt;
    offset = sign * (static_cast<long long>(*oh) * 3600 + static_cast<long long>(*om) * 60);
  } else {
    return std::nullopt;
  }
  if (p != s.size()) return std::nullopt;
  const long long days = days_from_civil(*year, *month, *day);
  const long long secs = days * 86400 + *hour * 3600LL + *minute * 60LL + *second - offset;
  return static_cast<double>(secs) + frac;
}

namespace {

// One prometheus.yml (as JSON): one scrape job per distinct job name, targets with their labels.
json make_config(const std::vector<ScrapeTarget>& targets) {
  std::vector<std::string> order;  // job names in first-seen order
  std::map<std::string, std::vector<const ScrapeTarget*>> by_job;
  std::set<std::tuple<std::string, std::string, std::string, std::map<std::string, std::string>>>
      seen;
  for (const auto& t : targets) {
    if (!seen.emplace(t.job, t.address, t.metrics_path, t.labels).second) continue;
    if (!by_job.count(t.job)) order.push_back(t.job);
    by_job[t.job].push_back(&t);
  }
  json jobs = json::array();
  for (const auto& name : order) {
    const auto& list = by_job[name];
    const std::string& path = list.front()->metrics_path;
    json statics = json::array();
    for (const ScrapeTarget* t : list) {
      json labels = json::object();
      for (const auto& [k, v] : t->labels)
        labels[k] = v;
      // A job has one metrics_path; a target of the same job with another path says so itself.
      if (t->metrics_path != path) labels["__metrics_path__"] = t->metrics_path;
      json sc = {{"targets", json::array({t->address})}};
      if (!labels.empty()) sc["labels"] = labels;
      statics.push_back(std::move(sc));
    }
    json job = {{"job_name", name},
                {"scrape_interval", "1s"},
                {"scrape_timeout", "900ms"},
                {"metrics_path", path},
                {"static_configs", std::move(statics)}};
    // A job has one authorization: the first target's token (jobs are per component).
    if (!list.front()->bearer_token.empty())
      job["authorization"] = {{"type", "Bearer"}, {"credentials", list.front()->bearer_token}};
    if (!list.front()->ca_file.empty()) {
      job["scheme"] = "https";
      job["tls_config"] = {{"ca_file", list.front()->ca_file}};
    }
    jobs.push_back(std::move(job));
  }
  return {{"global", {{"scrape_interval", "1s"}, {"evaluation_interval", "1s"}}},
          {"scrape_configs", std::move(jobs)}};
}

std::size_t distinct_targets(const std::vector<ScrapeTarget>& targets) {
  std::set<std::tuple<std::string, std::string, std::string, std::map<std::string, std::string>>>
      seen;
  for (const auto& t : targets)
    seen.emplace(t.job, t.address, t.metrics_path, t.labels);
  return seen.size();
}

std::string read_from(const std::string& file, std::uintmax_t offset) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  in.seekg(static_cast<std::streamoff>(offset));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::uintmax_t file_size_or_0(const std::string& file) {
  std::error_code ec;
  auto n = std::filesystem::file_size(file, ec);
  return ec ? 0 : n;
}

// The last non-empty lines of a log, joined into one line for an error message.
std::string log_tail(const std::string& text, std::size_t lines = 3) {
  std::vector<std::string> all;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) all.push_back(l);
  std::string out;
  for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
    out += (out.empty() ? "" : " | ") + all[i];
  return out.empty() ? "(empty log)" : out;
}

// A sample value as Prometheus writes it ("1.5", "NaN", "+Inf").
std::optional<double> sample_value(const json& pair, std::string& error) {
  if (!pair.is_array() || pair.size() != 2 || !pair[1].is_string()) {
    error = "unexpected sample in Prometheus's answer";
    return std::nullopt;
  }
  const std::string s = pair[1].get<std::string>();
  double v = 0;
  try {
    std::size_t used = 0;
    v = std::stod(s, &used);
    if (used != s.size()) throw std::invalid_argument(s);
  } catch (const std::exception&) {
    if (s == "NaN")
      v = std::numeric_limits<double>::quiet_NaN();
    else if (s == "+Inf" || s == "Inf")
      v = std::numeric_limits<double>::infinity();
    else if (s == "-Inf")
      v = -std::numeric_limits<double>::infinity();
    else {
      error = "unparsable sample value \"" + s + "\"";
      return std::nullopt;
    }
  }
  if (std::isnan(v)) {
    error = "NaN (e.g. 0/0: no requests in the window)";
    return std::nullopt;
  }
  if (std::isinf(v)) {
    error = v > 0 ? "+Inf (e.g. x/0: a division by zero)" : "-Inf (e.g. -x/0: a division by zero)";
    return std::nullopt;
  }
  return v;
}

}  // namespace

struct PrometheusServer::Impl {
  std::string dir, log_file;
  HostPort address;
  Subprocess process;
  std::size_t expected_targets = 0;
  bool stopped = false;
  bool attached = false;
  std::string prefix;  // attached: the base URL's path, without a trailing '/'

  std::pair<error_code, HttpClientResponse> get(const std::string& target,
                                                std::chrono::milliseconds timeout = 10s) const {
    HttpClientRequest req;
    req.target = prefix + target;
    req.timeout = timeout;
    return http_fetch_sync(address, std::move(req));
  }
};

std::optional<std::string> PrometheusServer::find_binary() {
  return find_program("prometheus");
}

PrometheusServer::PrometheusServer(const std::string& dir, const std::vector<ScrapeTarget>& targets,
                                   const std::string& log_file,
                                   const std::function<bool()>& should_stop)
    : impl_(std::make_unique<Impl>()) {
  impl_->dir = dir;
  impl_->log_file = log_file;
  impl_->expected_targets = distinct_targets(targets);
  auto binary = find_binary();
  if (!binary)
    throw std::runtime_error(
        "prometheus not found in PATH (promql assertions need it: apt-get install prometheus)");
  std::filesystem::create_directories(std::filesystem::path(dir) / "data");
  if (auto parent = std::filesystem::path(log_file).parent_path(); !parent.empty())
    std::filesystem::create_directories(parent);
  const std::string config_path = (std::filesystem::path(dir) / "prometheus.yml").string();
  {
    std::ofstream out(config_path, std::ios::trunc);
    out << make_config(targets).dump(2) << "\n";
    if (!out) throw std::runtime_error("cannot write " + config_path);
  }

  for (int attempt = 1;; ++attempt) {
    const unsigned short port = free_loopback_port();
    impl_->address = HostPort{"127.0.0.1", port};
    const auto log_offset = file_size_or_0(log_file);
    impl_->process =
        Subprocess({*binary, "--config.file=" + config_path,
                    "--storage.tsdb.path=" + (std::filesystem::path(dir) / "data").string(),
                    fmt::format("--web.listen-address=127.0.0.1:{}", port), "--log.level=warn"},
                   log_file);
    const auto deadline = Clock::now() + kReadyTimeout;
    bool retry = false;
    while (!retry) {
      if (should_stop && should_stop()) {
        impl_->process.terminate();
        throw Interrupted{};
      }
      if (!impl_->process.running()) {
        const int status = impl_->process.wait(0ms);
        const std::string log = read_from(log_file, log_offset);
        if (log.find("address already in use") != std::string::npos && attempt < kStartAttempts) {
          retry = true;
          break;
        }
        throw std::runtime_error(fmt::format("prometheus exited during start-up (status {}): {}",
                                             status, log_tail(log)));
      }
      auto [ec, res] = impl_->get("/-/ready", 1s);
      if (!ec && res.status == 200) return;
      if (Clock::now() >= deadline) {
        impl_->process.terminate();
        throw std::runtime_error(fmt::format("prometheus not ready after {} s on {} (see {})",
                                             kReadyTimeout.count(), impl_->address.to_string(),
                                             log_file));
      }
      std::this_thread::sleep_for(100ms);
    }
  }
}

PrometheusServer::~PrometheusServer() {
  stop();
}

PrometheusServer::PrometheusServer() : impl_(std::make_unique<Impl>()) {}

std::unique_ptr<PrometheusServer> PrometheusServer::attach(const HostPort& address,
                                                           const std::string& path_prefix) {
  std::unique_ptr<PrometheusServer> p(new PrometheusServer());
  p->impl_->address = address;
  p->impl_->attached = true;
  p->impl_->prefix = path_prefix;
  while (!p->impl_->prefix.empty() && p->impl_->prefix.back() == '/')
    p->impl_->prefix.pop_back();
  return p;
}

bool PrometheusServer::attached() const {
  return impl_->attached;
}

HostPort PrometheusServer::address() const {
  return impl_->address;
}

pid_t PrometheusServer::pid() const {
  return impl_->process.pid();
}

bool PrometheusServer::running() {
  return !impl_->stopped && (impl_->attached || impl_->process.running());
}

void PrometheusServer::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  if (!impl_->attached) impl_->process.terminate(5000ms);
}

PromqlResult PrometheusServer::query(const std::string& expr, double at_unix_seconds) {
  PromqlResult out;
  std::string target = "/api/v1/query?query=" + url_encode(expr);
  if (at_unix_seconds != 0) target += fmt::format("&time={:.3f}", at_unix_seconds);
  auto [ec, res] = impl_->get(target);
  if (ec) {
    out.error = fmt::format("Prometheus on {} did not answer: {}", impl_->address.to_string(),
                            ec.message());
    return out;
  }
  json body = parse_json_or_discarded(res.body);
  if (body.is_discarded() || !body.is_object()) {
    out.error = fmt::format("Prometheus answered HTTP {} without JSON", res.status);
    return out;
  }
  if (body.value("status", "") != "success") {
    std::string type = body.value("errorType", "");
    std::string msg = body.value("error", "");
    if (msg.empty()) msg = fmt::format("HTTP {}", res.status);
    out.error = type.empty() ? msg : type + ": " + msg;
    return out;
  }
  const json& data = body.contains("data") ? body["data"] : json::object();
  const std::string type = data.is_object() ? data.value("resultType", "") : "";
  const json result = data.is_object() && data.contains("result") ? data["result"] : json();
  if (type == "scalar") {
    out.value = sample_value(result, out.error);
  } else if (type == "vector" && result.is_array()) {
    if (result.empty())
      out.error = "no data";
    else if (result.size() > 1)
      out.error = fmt::format("{} series (the query must return one; use sum() or a selector)",
                              result.size());
    else if (result[0].is_object() && result[0].contains("value"))
      out.value = sample_value(result[0]["value"], out.error);
    else
      out.error = "unexpected vector in Prometheus's answer";
  } else if (type == "matrix") {
    out.error =
        "a range vector (the query must return one instant value: drop the [range] or "
        "wrap it in a function such as rate())";
  } else if (type == "string") {
    out.error = "a string (the query must return a number)";
  } else {
    out.error = "unexpected answer from Prometheus (resultType \"" + type + "\")";
  }
  return out;
}

std::string PrometheusServer::check(const std::string& expr) {
  PromqlResult r = query(expr);
  if (r.value || r.error == "no data" || r.error.rfind("NaN", 0) == 0 ||
      r.error.rfind("+Inf", 0) == 0 || r.error.rfind("-Inf", 0) == 0 ||
      r.error.find(" series (the query must return one") != std::string::npos)
    return "";
  return r.error;
}

bool PrometheusServer::wait_scraped_after(double unix_seconds, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto [ec, res] = impl_->get("/api/v1/targets?state=active", 2s);
    if (!ec && res.status == 200) {
      json body = parse_json_or_discarded(res.body);
      const json* active = nullptr;
      if (body.is_object() && body.contains("data") && body["data"].is_object() &&
          body["data"].contains("activeTargets") && body["data"]["activeTargets"].is_array())
        active = &body["data"]["activeTargets"];
      if (active && active->size() >= impl_->expected_targets) {
        bool all = true;
        for (const auto& t : *active) {
          std::optional<double> last;
          if (t.is_object() && t.contains("lastScrape") && t["lastScrape"].is_string())
            last = parse_rfc3339(t["lastScrape"].get<std::string>());
          all = all && last && *last >= unix_seconds;
        }
        if (all) return true;
      }
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(200ms);
  }
}

}  // namespace faultline::runner
