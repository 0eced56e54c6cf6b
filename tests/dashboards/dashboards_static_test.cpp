// Static checks of dashboards/: valid JSON, unique panel ids, a unit on every panel, every panel's
// datasource is the provisioned one, every metric a panel expression uses is documented in
// METRICS.md (the names faultline exports), and prometheus.yml passes `promtool check config`.
#include <gtest/gtest.h>

#include "dashboard_support.hpp"

using namespace faultline;
using namespace faultline::test::dashboards;

namespace {
const std::string kDatasourceUid = "faultline-prometheus";
}

TEST(DashboardSupport, MetricNameExtraction) {
  EXPECT_EQ(
      metric_names(
          R"(histogram_quantile(0.99, sum by (le, route) (rate(a_b_bucket{x=~"$s",y!="z"}[$__rate_interval]))))"),
      (std::set<std::string>{"a_b_bucket"}));
  EXPECT_EQ(
      metric_names(R"(sum(rate(foo_total{o!="ok"}[5m])) / sum without (i) (bar) * 1e3 > bool 2)"),
      (std::set<std::string>{"foo_total", "bar"}));
  EXPECT_EQ(metric_names(R"(max by (shard) (baz{scenario=~"a|b{c}"}) offset 1m)"),
            (std::set<std::string>{"baz"}));
}

TEST(DashboardSupport, MetricsTableParsing) {
  // The real METRICS.md: names with their type, whatever the column order.
  const auto docs = documented_metrics();
  ASSERT_TRUE(docs.count("process_cpu_seconds_total"));
  EXPECT_EQ(docs.at("process_cpu_seconds_total"), "counter");
  EXPECT_TRUE(is_documented({{"x_seconds", "histogram"}}, "x_seconds_bucket"));
  EXPECT_TRUE(is_documented({{"x_seconds", "histogram"}}, "x_seconds_count"));
  EXPECT_FALSE(is_documented({{"x_total", "counter"}}, "x_total_bucket"));
  EXPECT_FALSE(is_documented({{"x_total", "counter"}}, "y_total"));
}

TEST(DashboardsStatic, AtLeastOneDashboardAndMetricsDocumented) {
  EXPECT_FALSE(load_dashboards().empty());
  const auto docs = documented_metrics();
  EXPECT_TRUE(docs.count("process_resident_memory_bytes")) << "METRICS.md tables not parsed";
}

TEST(DashboardsStatic, PanelsHaveUniqueIdsUnitsDatasourceAndDocumentedMetrics) {
  const auto docs = documented_metrics();
  for (const auto& d : load_dashboards()) {
    SCOPED_TRACE(d.file);
    EXPECT_FALSE(d.json.value("uid", std::string()).empty());
    EXPECT_FALSE(d.json.value("title", std::string()).empty());
    std::set<int> ids;
    int queries = 0;
    for (const auto* p : all_panels(d.json)) {
      const auto title = p->value("title", std::string("(untitled)"));
      SCOPED_TRACE(title);
      ASSERT_TRUE(p->contains("id") && (*p)["id"].is_number_integer());
      EXPECT_TRUE(ids.insert((*p)["id"].get<int>()).second) << "duplicate id " << (*p)["id"];
      ASSERT_TRUE(p->contains("gridPos"));
      if (p->value("type", std::string()) == "row") continue;
      const auto unit = p->value("/fieldConfig/defaults/unit"_json_pointer, std::string());
      EXPECT_FALSE(unit.empty()) << "panel without a unit";
      EXPECT_EQ(p->value("/datasource/uid"_json_pointer, std::string()), kDatasourceUid);
      ASSERT_TRUE(p->contains("targets") && !(*p)["targets"].empty()) << "panel without a query";
      for (const auto& t : (*p)["targets"]) {
        const auto expr = t.value("expr", std::string());
        ASSERT_FALSE(expr.empty());
        ++queries;
        const auto names = metric_names(expr);
        EXPECT_FALSE(names.empty()) << expr;
        for (const auto& n : names)
          EXPECT_TRUE(is_documented(docs, n)) << n << " (in " << expr << ") is not in METRICS.md";
      }
    }
    EXPECT_GT(queries, 10);
  }
}

TEST(DashboardsStatic, ProvisioningUsesTheFixedDatasourceUid) {
  const auto ds =
      read_text(test::source_dir() + "/dashboards/grafana/provisioning/datasources/faultline.yml");
  EXPECT_NE(ds.find("uid: " + kDatasourceUid), std::string::npos);
  EXPECT_NE(ds.find("type: prometheus"), std::string::npos);
  const auto provider =
      read_text(test::source_dir() + "/dashboards/grafana/provisioning/dashboards/faultline.yml");
  EXPECT_NE(provider.find("type: file"), std::string::npos);
}

TEST(DashboardsStatic, PrometheusConfigIsValid) {
  auto promtool = find_program("promtool");
  ASSERT_TRUE(promtool) << "promtool is not installed (scripts/install-deps installs prometheus)";
  const auto cfg = test::source_dir() + "/dashboards/prometheus.yml";
  EXPECT_NE(read_text(cfg).find("file_sd_configs"), std::string::npos);
  Subprocess p({*promtool, "check", "config", cfg});
  p.read_all(std::chrono::seconds(20));
  EXPECT_EQ(p.wait(std::chrono::seconds(5)), 0) << p.output();
}
