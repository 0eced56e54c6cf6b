// The dashboards against a real Prometheus: start the faultline components that exist (target,
// proxy with an HTTP proxy and a latency toxic in front of the target, load through the proxy),
// list them in a file_sd file exactly like `faultline run --prometheus-sd`, start Debian's
// prometheus with dashboards/prometheus.yml (1 s scrapes), then run every panel expression (Grafana
// variables substituted) through /api/v1/query: each must parse and return data. Each metric a
// panel uses must also appear in the real /metrics output of its component.
// Components whose subcommand does not exist yet are reported and their panels skipped.
#include <gtest/gtest.h>

#include <thread>

#include "common/http_client.hpp"
#include "dashboard_support.hpp"

using namespace faultline;
using namespace faultline::test::dashboards;
using nlohmann::json;
using namespace std::chrono_literals;

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

}  // namespace

TEST(DashboardsPrometheus, EveryPanelQueryParsesAndReturnsData) {
  const auto prometheus = find_program("prometheus");
  if (!prometheus) GTEST_SKIP() << "prometheus not installed";
  const auto started = std::chrono::steady_clock::now();

  auto [help_rc, help] = test::run_faultline({"--help"});
  ASSERT_EQ(help_rc, 0);
  auto exists = [&help = help](const std::string& cmd) {
    return std::regex_search(help, std::regex("\n\\s+" + cmd + "\\s"));
  };

  test::TempDir dir;
  std::filesystem::create_directories(dir.path() / "targets");
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
  if (exists("target")) {
    target = test::start_faultline({"target", "--listen", "127.0.0.1:0", "--store", "memory"});
    ASSERT_TRUE(target);
    add_sd("target", target->address);
    load_url = "http://" + target->address.to_string() + "/pastes";
  }
  if (exists("proxy")) {
    proxy = test::start_faultline({"proxy", "--api", "127.0.0.1:0"});
    ASSERT_TRUE(proxy);
    add_sd("proxy", proxy->address);
    if (target) {
      // An HTTP-aware proxy when this build has one, else a TCP proxy (same metrics).
      unsigned status = 0;
      std::string body;
      for (const char* protocol : {"http", "tcp"}) {
        json create = {{"name", "target_http"},
                       {"listen", "127.0.0.1:0"},
                       {"upstream", target->address.to_string()},
                       {"protocol", protocol}};
        std::tie(status, body) = http(proxy->address, "POST", "/proxies", create.dump());
        if (status == 200 || status == 201) break;
        std::cout << "[ NOTE     ] proxy protocol " << protocol << ": " << status << " " << body
                  << "\n";
      }
      ASSERT_TRUE(status == 200 || status == 201) << status << " " << body;
      const auto listen = json::parse(body).value("listen", std::string());
      load_url = "http://" + listen + "/pastes";
      json toxic = {{"name", "slow"},
                    {"type", "latency"},
                    {"stream", "downstream"},
                    {"toxicity", 0.5},
                    {"attributes", {{"latency", 2}, {"jitter", 0}}}};
      auto [ts, tb] = http(proxy->address, "POST", "/proxies/target_http/toxics", toxic.dump());
      ASSERT_TRUE(ts == 200 || ts == 201) << ts << " " << tb;
    }
  }
  if (exists("load") && !load_url.empty()) {
    load = test::start_faultline({"load", load_url, "--rate", "40", "--duration", "120s",
                                  "--method", "POST", "--body", "hello from the dashboards test",
                                  "--metrics-listen", "127.0.0.1:0", "--seed", "1", "--quiet"});
    ASSERT_TRUE(load);
    add_sd("load", load->address);
  }
  for (const char* c : {"target", "proxy", "load"})
    if (!metrics_addr.count(c))
      std::cout << "[ NOTE     ] component '" << c
                << "' not available in this build: its panels are not checked\n";
  if (sd.empty()) GTEST_SKIP() << "no faultline component exists yet";

  {
    std::ofstream(dir.file("targets/faultline.json")) << sd.dump(2);
    std::filesystem::copy_file(test::source_dir() + "/dashboards/prometheus.yml",
                               dir.file("prometheus.yml"));
  }
  const auto port = free_loopback_port();
  const HostPort prom_addr{"127.0.0.1", port};
  Subprocess prom({*prometheus, "--config.file=" + dir.file("prometheus.yml"),
                   "--storage.tsdb.path=" + dir.file("tsdb"),
                   "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                  dir.file("prometheus.log"));
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (http(prom_addr, "GET", "/-/ready").first != 200) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "prometheus not ready: " << read_text(dir.file("prometheus.log"));
    std::this_thread::sleep_for(200ms);
  }

  auto query = [&](const std::string& expr) {
    auto [status, body] = http(prom_addr, "POST", "/api/v1/query", "query=" + url_encode(expr),
                               "application/x-www-form-urlencoded");
    return std::make_pair(status, body.empty() ? json() : json::parse(body, nullptr, false));
  };
  // Every listed component scraped successfully.
  deadline = std::chrono::steady_clock::now() + 15s;
  for (;;) {
    auto [status, r] = query("sum(up{scenario=\"dashboards-test\"})");
    const auto& res = r.is_object() ? r["data"]["result"] : json();
    if (status == 200 && res.is_array() && !res.empty() &&
        std::stod(res[0]["value"][1].get<std::string>()) == static_cast<double>(sd.size()))
      break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "not every component is up in Prometheus: " << r.dump();
    std::this_thread::sleep_for(250ms);
  }

  // Real /metrics text of each component, for the "name is really exported" check.
  std::map<std::string, std::string> exposition;
  for (const auto& [c, hp] : metrics_addr) {
    auto [status, body] = http(hp, "GET", "/metrics");
    ASSERT_EQ(status, 200u) << c;
    exposition[c] = body;
  }

  // Traffic really flows load -> proxy -> target (so the panels show more than zeros).
  if (load && target) {
    deadline = std::chrono::steady_clock::now() + 15s;
    for (;;) {
      auto [status, r] = query("sum(rate(faultline_target_requests_total[5s])) > 0");
      if (status == 200 && r.is_object() && !r["data"]["result"].empty()) break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the target sees no requests";
      std::this_thread::sleep_for(250ms);
    }
  }

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
          if (!c.empty() && !metrics_addr.count(c)) available = false;
        }
        if (!available) {
          ++skipped;
          continue;
        }
        SCOPED_TRACE(p->value("title", std::string()) + ": " + raw);
        for (const auto& n : names) {
          const auto c = component_of(n);
          const auto base = strip_histogram_suffix(n);
          bool found = false;
          for (const auto& [comp, text] : exposition)
            if ((c.empty() || comp == c) && text.find("\n" + base) != std::string::npos)
              found = true;
          EXPECT_TRUE(found) << n << " is not in the real /metrics output";
        }
        const auto expr = substitute(raw, d.json);
        // Rates need a few scrapes: retry an empty result until the overall deadline.
        const auto give_up = started + 38s;
        for (;;) {
          auto [status, r] = query(expr);
          ASSERT_TRUE(r.is_object()) << "HTTP " << status;
          ASSERT_EQ(r.value("status", std::string()), "success")
              << "query does not parse/evaluate: " << expr << "\n"
              << r.dump();
          if (!r["data"]["result"].empty()) break;
          if (std::chrono::steady_clock::now() > give_up) {
            ADD_FAILURE() << "no data for " << expr;
            break;
          }
          std::this_thread::sleep_for(500ms);
        }
        ++checked;
      }
    }
  }
  std::cout << "[ NOTE     ] " << checked << " panel queries returned data from Prometheus, "
            << skipped << " skipped (component not available)\n";
  RecordProperty("queries_checked", checked);
  RecordProperty("queries_skipped", skipped);
  EXPECT_GT(checked, 0);
}
