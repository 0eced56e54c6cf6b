// The dashboards against a real Prometheus (Debian's `prometheus`, 1 s scrapes, configured by
// dashboards/prometheus.yml with its file_sd list in targets/):
//  1. Components: start the faultline components that exist (target; proxy with an HTTP proxy and
//     a latency toxic in front of the target; load through the proxy), list them in a file_sd file
//     like `faultline run --prometheus-sd` does, and run every panel expression (Grafana variables
//     substituted) through /api/v1/query: each must parse and return data, and each metric it uses
//     must appear in the real /metrics output of its component.
//  2. Scenario: `faultline run scenarios/quickstart.json --duration 24s --prometheus-sd ...` feeds
//     the same Prometheus through the runner's own file_sd list; while it runs, every panel
//     expression must return data for the scenario.
// Components whose subcommand does not exist yet are reported and their panels skipped.
#include <gtest/gtest.h>

#include <thread>

#include "common/http_client.hpp"
#include "dashboard_support.hpp"

using namespace faultline;
using namespace faultline::test::dashboards;
using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::pair<unsigned, std::string> http(const HostPort& hp, const std::string& method,
                                      const std::string& target, const std::string& body = "",
                                      const std::string& content_type = "application/json") {
  HttpClientRequest req;
  req.method = method;
  req.target = target;
  req.body = body;
  req.timeout = 5s;
  if (!body.empty()) req.headers.emplace_back("Content-Type", content_type);
  auto [ec, res] = http_fetch_sync(hp, req);
  if (ec) return {0, ec.message()};
  return {res.status, res.body};
}

// The component whose metrics an expression reads ("" = process_* metrics, every component).
std::string component_of(const std::string& metric) {
  for (const char* c : {"target", "proxy", "load"})
    if (metric.rfind(std::string("faultline_") + c + "_", 0) == 0) return c;
  return "";
}

std::string strip_histogram_suffix(const std::string& name) {
  for (const std::string s : {"_bucket", "_sum", "_count"})
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0)
      return name.substr(0, name.size() - s.size());
  return name;
}

// A real Prometheus on a free loopback port, configured by a copy of dashboards/prometheus.yml in
// `dir` (so its file_sd list is dir/targets/*.json).
class Prometheus {
 public:
  explicit Prometheus(const test::TempDir& dir) : dir_(dir) {
    std::filesystem::create_directories(dir.path() / "targets");
    std::filesystem::copy_file(test::source_dir() + "/dashboards/prometheus.yml",
                               dir.file("prometheus.yml"));
    const auto port = free_loopback_port();
    addr_ = HostPort{"127.0.0.1", port};
    proc_ = Subprocess({*find_program("prometheus"), "--config.file=" + dir.file("prometheus.yml"),
                        "--storage.tsdb.path=" + dir.file("tsdb"),
                        "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                       dir.file("prometheus.log"));
  }
  bool wait_ready(Clock::duration timeout) {
    const auto deadline = Clock::now() + timeout;
    while (http(addr_, "GET", "/-/ready").first != 200) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(200ms);
    }
    return true;
  }
  std::string log() const { return read_text(dir_.file("prometheus.log")); }
  // {HTTP status, parsed body (discarded value when not JSON)}.
  std::pair<unsigned, json> query(const std::string& expr) {
    auto [status, body] = http(addr_, "POST", "/api/v1/query", "query=" + url_encode(expr),
                               "application/x-www-form-urlencoded");
    return {status, json::parse(body, nullptr, false)};
  }
  // Number of series `expr` returns now (0 on any error).
  double scalar(const std::string& expr) {
    auto [status, r] = query(expr);
    if (status != 200 || !r.is_object()) return -1;
    const auto& res = r["data"]["result"];
    if (!res.is_array() || res.empty()) return -1;
    return std::stod(res[0]["value"][1].get<std::string>());
  }

 private:
  const test::TempDir& dir_;
  HostPort addr_;
  Subprocess proc_;
};

// Runs every panel expression whose components are all in `components`; each must parse at once
// and return data before `give_up` (rates need a few scrapes). When `exposition` is given, every
// metric name must also occur in the /metrics text of its component. Returns {checked, skipped}.
std::pair<int, int> check_all_panels(Prometheus& prom, const std::set<std::string>& components,
                                     const std::map<std::string, std::string>* exposition,
                                     Clock::time_point give_up) {
  int checked = 0, skipped = 0;
  for (const auto& d : load_dashboards()) {
    for (const auto* p : all_panels(d.json)) {
      if (p->value("type", std::string()) == "row") continue;
      for (const auto& t : p->value("targets", json::array())) {
        const auto raw = t.value("expr", std::string());
        const auto names = metric_names(raw);
        bool available = true;
        for (const auto& n : names) {
          const auto c = component_of(n);
          if (!c.empty() && !components.count(c)) available = false;
        }
        if (!available) {
          ++skipped;
          continue;
        }
        SCOPED_TRACE(p->value("title", std::string()) + ": " + raw);
        if (exposition) {
          for (const auto& n : names) {
            const auto c = component_of(n);
            const auto base = strip_histogram_suffix(n);
            bool found = false;
            for (const auto& [comp, text] : *exposition)
              if ((c.empty() || comp == c) && text.find("\n" + base) != std::string::npos)
                found = true;
            EXPECT_TRUE(found) << n << " is not in the real /metrics output";
          }
        }
        const auto expr = substitute(raw, d.json);
        for (;;) {
          auto [status, r] = prom.query(expr);
          if (!r.is_object()) {
            ADD_FAILURE() << "HTTP " << status << " from Prometheus for " << expr;
            break;
          }
          if (r.value("status", std::string()) != "success") {
            ADD_FAILURE() << "query does not parse/evaluate: " << expr << "\n" << r.dump();
            break;
          }
          if (!r["data"]["result"].empty()) break;
          if (Clock::now() > give_up) {
            ADD_FAILURE() << "no data for " << expr;
            break;
          }
          std::this_thread::sleep_for(500ms);
        }
        ++checked;
      }
    }
  }
  return {checked, skipped};
}

}  // namespace

TEST(DashboardsPrometheus, EveryPanelQueryParsesAndReturnsData) {
  ASSERT_TRUE(find_program("prometheus")) << "prometheus is not installed (scripts/install-deps)";
  const auto started = Clock::now();

  test::TempDir dir;
  json sd = json::array();
  std::map<std::string, HostPort> metrics_addr;
  auto add_sd = [&](const std::string& component, const HostPort& hp) {
    sd.push_back({{"targets", {hp.to_string()}},
                  {"labels",
                   {{"job", "faultline_" + component},
                    {"component", component},
                    {"scenario", "dashboards-test"}}}});
    metrics_addr[component] = hp;
  };

  std::optional<test::RunningFaultline> target, proxy, load;
  std::string load_url;
  // Every component runs: a panel whose component is missing must fail the test, not skip it.
  target = test::start_faultline({"target", "--listen", "127.0.0.1:0", "--store", "memory"});
  ASSERT_TRUE(target);
  add_sd("target", target->address);
  proxy = test::start_faultline({"proxy", "--api", "127.0.0.1:0"});
  ASSERT_TRUE(proxy);
  add_sd("proxy", proxy->address);
  json create = {{"name", "target_http"},
                 {"listen", "127.0.0.1:0"},
                 {"upstream", target->address.to_string()},
                 {"protocol", "http"}};
  auto [cs, cb] = http(proxy->address, "POST", "/proxies", create.dump());
  ASSERT_TRUE(cs == 200 || cs == 201) << cs << " " << cb;
  const auto listen = json::parse(cb).value("listen", std::string());
  load_url = "http://" + listen + "/pastes";
  json toxic = {{"name", "slow"},
                {"type", "latency"},
                {"stream", "downstream"},
                {"toxicity", 0.5},
                {"attributes", {{"latency", 2}, {"jitter", 0}}}};
  auto [ts, tb] = http(proxy->address, "POST", "/proxies/target_http/toxics", toxic.dump());
  ASSERT_TRUE(ts == 200 || ts == 201) << ts << " " << tb;
  load = test::start_faultline({"load", load_url, "--rate", "40", "--duration", "120s", "--method",
                                "POST", "--body", "hello from the dashboards test",
                                "--metrics-listen", "127.0.0.1:0", "--seed", "1", "--quiet"});
  ASSERT_TRUE(load);
  add_sd("load", load->address);

  Prometheus prom(dir);
  std::ofstream(dir.file("targets/faultline.json")) << sd.dump(2);
  ASSERT_TRUE(prom.wait_ready(15s)) << prom.log();

  // Every listed component scraped successfully.
  auto deadline = Clock::now() + 15s;
  while (prom.scalar("sum(up{scenario=\"dashboards-test\"})") != static_cast<double>(sd.size())) {
    ASSERT_LT(Clock::now(), deadline) << "not every component is up in Prometheus";
    std::this_thread::sleep_for(250ms);
  }
  // Traffic really flows load -> proxy -> target (so the panels show more than zeros).
  if (load && target) {
    deadline = Clock::now() + 15s;
    while (prom.scalar("sum(rate(faultline_target_requests_total[5s]))") <= 0) {
      ASSERT_LT(Clock::now(), deadline) << "the target sees no requests";
      std::this_thread::sleep_for(250ms);
    }
  }

  // Real /metrics text of each component, for the "name is really exported" check.
  std::map<std::string, std::string> exposition;
  std::set<std::string> components;
  for (const auto& [c, hp] : metrics_addr) {
    auto [status, body] = http(hp, "GET", "/metrics");
    ASSERT_EQ(status, 200u) << c;
    exposition[c] = body;
    components.insert(c);
  }

  auto [checked, skipped] = check_all_panels(prom, components, &exposition, started + 38s);
  std::cout << "[ NOTE     ] " << checked << " panel queries returned data from Prometheus, "
            << skipped << " skipped (component not available)\n";
  RecordProperty("queries_checked", checked);
  RecordProperty("queries_skipped", skipped);
  EXPECT_GT(checked, 0);
}

TEST(DashboardsPrometheus, ScenarioRunFeedsThePanelsThroughItsFileSd) {
  ASSERT_TRUE(find_program("prometheus")) << "prometheus is not installed (scripts/install-deps)";
  const auto scenario = test::source_dir() + "/scenarios/quickstart.json";
  ASSERT_TRUE(std::filesystem::exists(scenario)) << scenario;
  const auto started = Clock::now();

  test::TempDir dir;
  Prometheus prom(dir);
  ASSERT_TRUE(prom.wait_ready(15s)) << prom.log();
  Subprocess run({test::faultline_bin(), "run", scenario, "--duration", "24s", "--out",
                  dir.file("out"), "--prometheus-sd", dir.file("targets/faultline.json")},
                 dir.file("run.log"));

  // The runner's file_sd list names target, proxy and load; Prometheus scrapes all three.
  auto deadline = Clock::now() + 20s;
  while (prom.scalar("sum(up{scenario=\"quickstart\"})") != 3) {
    ASSERT_TRUE(run.running()) << "faultline run ended early: " << read_text(dir.file("run.log"));
    ASSERT_LT(Clock::now(), deadline) << "the runner's components never all came up in "
                                         "Prometheus; run log: "
                                      << read_text(dir.file("run.log"));
    std::this_thread::sleep_for(250ms);
  }
  auto [checked, skipped] =
      check_all_panels(prom, {"target", "proxy", "load"}, nullptr, started + 36s);
  std::cout << "[ NOTE     ] " << checked
            << " panel queries returned data for a running scenario\n";
  EXPECT_EQ(skipped, 0);
  EXPECT_GT(checked, 0);
  EXPECT_TRUE(run.running()) << "all queries must have run while the scenario was running";
  run.terminate(5s);
}
