// deploy/kubernetes: every kustomization renders with `kubectl kustomize` and every object it
// renders is valid against the upstream Kubernetes OpenAPI schemas (and the Prometheus
// Operator's CRD schemas for PodMonitor), checked by kubernetes-models — a real validator, which
// this test also shows rejecting broken objects. Then what the runbook (docs/distributed.md)
// relies on: the Indexed Job's shards and common start, non-root pods with resources and probes
// on the endpoints the components really serve, Services and PodMonitors that select existing
// pods and ports, the Grafana dashboard generated from the repository's file, and the containers'
// command lines run for real on loopback (the Job's load, the target behind its sidecar proxy and
// a real Redis answering the probes).
#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "common/http_client.hpp"
#include "tests/deploy/deploy_support.hpp"

using namespace faultline;
using namespace faultline::test;
using namespace faultline::test::deploy;
using nlohmann::json;

namespace {

std::string kube_dir(const std::string& sub = "") {
  return source_dir() + "/deploy/kubernetes" + (sub.empty() ? "" : "/" + sub);
}

// The whole stack and the load Job, rendered and validated once for the checks below.
const Validated& stack() {
  static const Validated v = render_and_validate(kube_dir());
  return v;
}
const Validated& load_job() {
  static const Validated v = render_and_validate(kube_dir("load"));
  return v;
}

bool is_faultline_image(const json& c) {
  const std::string image = c.value("image", "");
  return image == "faultline" || image.rfind("faultline:", 0) == 0;
}

bool labels_match(const json& selector, const json& labels) {
  if (!selector.is_object() || selector.empty()) return false;
  for (const auto& [k, v] : selector.items())
    if (!labels.contains(k) || labels[k] != v) return false;
  return true;
}

std::set<std::string> port_names(const json& pod_spec) {
  std::set<std::string> out;
  for (const auto& c : pod_spec["containers"])
    for (const auto& p : c.value("ports", json::array()))
      if (p.contains("name")) out.insert(p["name"].get<std::string>());
  return out;
}

const json& container(const json& pod_spec, const std::string& name) {
  for (const auto& c : pod_spec["containers"])
    if (c["name"] == name) return c;
  static const json none = json::object();
  ADD_FAILURE() << "no container " << name;
  return none;
}

bool has_arg(const json& c, const std::string& arg) {
  for (const auto& a : c.value("args", json::array()))
    if (a == arg) return true;
  return false;
}

}  // namespace

TEST(Manifests, EveryKustomizationRendersAndEveryObjectIsValid) {
  REQUIRE_DEPLOY_TOOLS();
  std::vector<std::string> dirs;
  for (const auto& e : std::filesystem::recursive_directory_iterator(kube_dir()))
    if (e.path().filename() == "kustomization.yaml") dirs.push_back(e.path().parent_path());
  ASSERT_GE(dirs.size(), 7u);                    // the stack, its six parts and the load Job
  dirs.push_back(source_dir() + "/dashboards");  // the dashboard ConfigMap's own kustomization
  for (const auto& d : dirs) {
    const Validated v = render_and_validate(d);
    ASSERT_EQ(v.render.code, 0) << d << ": " << v.render.err;
    EXPECT_EQ(v.validate.code, 0) << d << ":\n" << v.validate.out << v.validate.err;
    EXPECT_NE(v.validate.out.find(" 0 invalid"), std::string::npos) << v.validate.out;
    EXPECT_FALSE(v.objects.empty()) << d;
  }
}

TEST(Manifests, ValidatorRejectsBrokenObjectsAndUnknownKinds) {
  REQUIRE_DEPLOY_TOOLS();
  TempDir dir;
  std::ofstream(dir.file("bad.yaml")) << R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  replicas: two
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers:
        - image: x
---
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata: {name: pm}
spec:
  selector: {}
  podMetricsEndpoints: [{port: 8080}]
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
)";
  const auto r = run_command({"node", tools_dir() + "/validate.mjs", dir.file("bad.yaml")});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("data/spec/replicas must be integer"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("must have required property name"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("podMetricsEndpoints/0/port must be string"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no schema for apiVersion example.com/v1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 valid, 3 invalid"), std::string::npos) << r.out;
}

TEST(Manifests, StackHasWhatTheRunbookNames) {
  REQUIRE_DEPLOY_TOOLS();
  const json& o = stack().objects;
  for (const auto& [kind, name] : std::vector<std::pair<std::string, std::string>>{
           {"Namespace", "faultline"},
           {"Deployment", "faultline-target"},
           {"Service", "faultline-target"},
           {"StatefulSet", "faultline-redis"},
           {"Service", "faultline-redis"},
           {"Deployment", "faultline-proxy"},
           {"Service", "faultline-proxy"},
           {"Deployment", "faultline-pushgateway"},
           {"Service", "faultline-pushgateway"},
           {"PodMonitor", "faultline"},
           {"PodMonitor", "faultline-pushgateway"},
           {"ConfigMap", "faultline-dashboards"},
           {"ConfigMap", "faultline-grafana-datasource"},
           {"PersistentVolumeClaim", "faultline-results"},
           {"Pod", "faultline-results-reader"}})
    EXPECT_TRUE(find_object(o, kind, name)) << kind << " " << name;
  for (const auto& x : o) {
    if (x["kind"] != "Namespace") {
      EXPECT_EQ(x["metadata"].value("namespace", ""), "faultline") << x;
    }
  }
  ASSERT_TRUE(find_object(load_job().objects, "Job", "faultline-load"));
}

TEST(Manifests, PodsRunNonRootWithResourcesAndProbes) {
  REQUIRE_DEPLOY_TOOLS();
  json all = stack().objects;
  for (const auto& x : load_job().objects)
    all.push_back(x);
  std::size_t pods = 0;
  for (const auto& o : all) {
    const json* tpl = pod_template(o);
    if (!tpl) continue;
    ++pods;
    const std::string id =
        o["kind"].get<std::string>() + " " + o["metadata"]["name"].get<std::string>();
    const json& spec = (*tpl)["spec"];
    const json& psc = spec["securityContext"];
    EXPECT_EQ(psc.value("runAsNonRoot", false), true) << id;
    EXPECT_EQ(psc["seccompProfile"].value("type", ""), "RuntimeDefault") << id;
    for (const auto& c : spec["containers"]) {
      const std::string cid = id + " container " + c["name"].get<std::string>();
      for (const char* kind : {"requests", "limits"})
        for (const char* res : {"cpu", "memory"})
          EXPECT_TRUE(c["resources"][kind].contains(res)) << cid << " " << kind << "." << res;
      const json& sc = c["securityContext"];
      EXPECT_EQ(sc.value("allowPrivilegeEscalation", true), false) << cid;
      EXPECT_EQ(sc.value("readOnlyRootFilesystem", false), true) << cid;
      EXPECT_EQ(sc["capabilities"]["drop"], json::array({"ALL"})) << cid;
      // The image's USER (Dockerfile) is 10001; the pods say so too.
      if (is_faultline_image(c)) {
        EXPECT_EQ(c["image"], "faultline:latest") << cid;
        EXPECT_EQ(psc.value("runAsUser", 0), 10001) << cid;
      }
      // Long-running containers are probed; a Job's and the reader pod's are not.
      if (o["kind"] == "Deployment" || o["kind"] == "StatefulSet") {
        EXPECT_TRUE(c.contains("livenessProbe")) << cid;
        EXPECT_TRUE(c.contains("readinessProbe")) << cid;
      }
    }
  }
  EXPECT_EQ(pods, 6u);
}

TEST(Manifests, ProbesUseTheEndpointsTheComponentsServe) {
  REQUIRE_DEPLOY_TOOLS();
  const json* target = find_object(stack().objects, "Deployment", "faultline-target");
  ASSERT_TRUE(target);
  const json& spec = (*target)["spec"]["template"]["spec"];
  // faultline target serves /healthz and /readyz (target/service.cpp).
  const json& t = container(spec, "target");
  EXPECT_EQ(t["livenessProbe"]["httpGet"]["path"], "/healthz");
  EXPECT_EQ(t["readinessProbe"]["httpGet"]["path"], "/readyz");
  EXPECT_TRUE(has_arg(t, "target"));
  EXPECT_TRUE(has_arg(t, "--store=redis://127.0.0.1:6380")) << t["args"];
  // faultline proxy serves neither: its API's GET /version.
  const json& p = container(spec, "proxy");
  EXPECT_EQ(p["livenessProbe"]["httpGet"]["path"], "/version");
  EXPECT_EQ(p["readinessProbe"]["httpGet"]["path"], "/version");
  const json* standalone = find_object(stack().objects, "Deployment", "faultline-proxy");
  ASSERT_TRUE(standalone);
  EXPECT_EQ(container((*standalone)["spec"]["template"]["spec"],
                      "proxy")["readinessProbe"]["httpGet"]["path"],
            "/version");
  // The sidecar's proxy listens where the target's store points, upstream the Redis pod.
  const json* cm = nullptr;
  for (const auto& o : stack().objects)
    if (o["kind"] == "ConfigMap" &&
        o["metadata"]["name"].get<std::string>().rfind("faultline-target-sidecar", 0) == 0)
      cm = &o;
  ASSERT_TRUE(cm);
  const json proxies = json::parse((*cm)["data"]["proxies.json"].get<std::string>());
  ASSERT_EQ(proxies.size(), 1u);
  EXPECT_EQ(proxies[0]["listen"], "127.0.0.1:6380");
  EXPECT_EQ(proxies[0]["protocol"], "redis");
  EXPECT_EQ(proxies[0]["upstream"], "faultline-redis-0.faultline-redis:6379");
  // kustomize renamed the generated ConfigMap (hash suffix) and the volume follows it.
  bool mounted = false;
  for (const auto& vol : spec["volumes"])
    mounted = mounted || vol["configMap"]["name"] == (*cm)["metadata"]["name"];
  EXPECT_TRUE(mounted);
}

TEST(Manifests, ServicesAndPodMonitorsSelectExistingPodsAndPorts) {
  REQUIRE_DEPLOY_TOOLS();
  const json& all = stack().objects;
  auto pods_selected = [&](const json& selector) {
    std::vector<const json*> out;
    for (const auto& o : all)
      if (const json* tpl = pod_template(o))
        if (labels_match(selector, (*tpl)["metadata"]["labels"])) out.push_back(&(*tpl)["spec"]);
    return out;
  };
  for (const auto& s : all) {
    if (s["kind"] != "Service") continue;
    const auto pods = pods_selected(s["spec"]["selector"]);
    ASSERT_EQ(pods.size(), 1u) << s["metadata"]["name"];
    for (const auto& port : s["spec"]["ports"])
      EXPECT_TRUE(port_names(*pods[0]).count(port["targetPort"].get<std::string>()))
          << s["metadata"]["name"] << " " << port;
  }
  for (const auto& m : all) {
    if (m["kind"] != "PodMonitor") continue;
    const auto pods = pods_selected(m["spec"]["selector"]["matchLabels"]);
    ASSERT_FALSE(pods.empty()) << m["metadata"]["name"];
    for (const auto& ep : m["spec"]["podMetricsEndpoints"]) {
      bool served = false;
      for (const json* p : pods)
        served = served || port_names(*p).count(ep["port"].get<std::string>()) > 0;
      EXPECT_TRUE(served) << m["metadata"]["name"] << " port " << ep["port"];
    }
  }
  // The Pushgateway keeps the shards' job and shard labels as pushed.
  const json* pgw = find_object(all, "PodMonitor", "faultline-pushgateway");
  ASSERT_TRUE(pgw);
  EXPECT_EQ((*pgw)["spec"]["podMetricsEndpoints"][0].value("honorLabels", false), true);
}

TEST(Manifests, LoadIsAnIndexedJobWhoseShardsStartInStep) {
  REQUIRE_DEPLOY_TOOLS();
  const json* job = find_object(load_job().objects, "Job", "faultline-load");
  ASSERT_TRUE(job);
  const json& spec = (*job)["spec"];
  EXPECT_EQ(spec["completionMode"], "Indexed");
  const int n = spec["completions"].get<int>();
  EXPECT_EQ(spec["parallelism"].get<int>(), n);  // every shard at once
  EXPECT_EQ(spec["backoffLimit"].get<int>(), 0);
  const json& c = container(spec["template"]["spec"], "load");
  EXPECT_TRUE(has_arg(c, "load"));
  EXPECT_TRUE(has_arg(c, "--shard=$(JOB_COMPLETION_INDEX)/$(SHARDS)")) << c["args"];
  EXPECT_TRUE(has_arg(c, "--start-at=$(START_AT)")) << c["args"];
  EXPECT_TRUE(has_arg(c, "--push-gateway=$(PUSH_GATEWAY)")) << c["args"];
  std::map<std::string, json> env;
  for (const auto& e : c["env"])
    env[e["name"].get<std::string>()] = e;
  // N of I/N is the Job's completions (a kustomize replacement), so they cannot disagree.
  EXPECT_EQ(env["SHARDS"]["value"], std::to_string(n));
  // The start time is set once, when the Job is created, in a ConfigMap every pod reads.
  EXPECT_EQ(env["START_AT"]["valueFrom"]["configMapKeyRef"]["name"], "faultline-load-start");
  // The settings ConfigMap: the Pushgateway is the stack's Service.
  const json* settings = nullptr;
  for (const auto& o : load_job().objects)
    if (o["kind"] == "ConfigMap") settings = &o;
  ASSERT_TRUE(settings);
  EXPECT_EQ(c["envFrom"][0]["configMapRef"]["name"], (*settings)["metadata"]["name"]);
  EXPECT_EQ((*settings)["data"]["PUSH_GATEWAY"], "http://faultline-pushgateway:9091");
  ASSERT_TRUE(find_object(stack().objects, "Service", "faultline-pushgateway"));
  // Results and intervals go to the shared volume, one file per shard.
  EXPECT_TRUE(has_arg(c,
                      "--intervals-out=/results/run-$(START_AT)-shard-$(JOB_COMPLETION_INDEX)"
                      ".intervals.jsonl"))
      << c["args"];
  EXPECT_EQ(spec["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
            "faultline-results");
}

TEST(Manifests, JobCommandLineIsAcceptedByFaultlineLoad) {
  // The Job's args with Kubernetes' $(VAR) expansion done by hand, run for real against a closed
  // port for a moment: every flag and value the manifest passes is one `faultline load` takes.
  REQUIRE_DEPLOY_TOOLS();
  const json* job = find_object(load_job().objects, "Job", "faultline-load");
  ASSERT_TRUE(job);
  const json* settings = nullptr;
  for (const auto& o : load_job().objects)
    if (o["kind"] == "ConfigMap") settings = &o;
  ASSERT_TRUE(settings);
  TempDir dir;
  const unsigned short closed = free_loopback_port();
  std::map<std::string, std::string> vars;
  for (const auto& [k, v] : (*settings)["data"].items())
    vars[k] = v.get<std::string>();
  vars["TARGET_URL"] = fmt::format("http://127.0.0.1:{}/healthz", closed);
  vars["PUSH_GATEWAY"] = fmt::format("http://127.0.0.1:{}", closed);
  vars["DURATION"] = "500ms";
  vars["RATE"] = "10";
  vars["CONNECTIONS"] = "2";
  vars["JOB_COMPLETION_INDEX"] = "1";
  vars["SHARDS"] = "2";
  vars["START_AT"] = fmt::format("{}", std::time(nullptr) + 2);
  std::vector<std::string> args;
  for (const auto& a : container((*job)["spec"]["template"]["spec"], "load")["args"]) {
    std::string s = a.get<std::string>();
    for (const auto& [k, v] : vars) {
      const std::string ref = "$(" + k + ")";
      for (auto pos = s.find(ref); pos != std::string::npos; pos = s.find(ref))
        s.replace(pos, ref.size(), v);
    }
    if (s.rfind("/results/", 0) != std::string::npos || s.find("=/results/") != std::string::npos)
      s.replace(s.find("/results/"), 9, dir.path().string() + "/");
    ASSERT_EQ(s.find("$("), std::string::npos) << "unexpanded: " << s;
    args.push_back(s);
  }
  auto [code, out] = run_faultline(args, dir.file("err.txt"));
  // Connect errors against the closed port are the load's results, not usage errors.
  EXPECT_EQ(code, 0) << read_text(dir.file("err.txt"));
  const json r =
      json::parse(read_text(dir.path().string() + "/run-" + vars["START_AT"] + "-shard-1.json"));
  EXPECT_EQ(r["shard"]["index"], 1);
  EXPECT_EQ(r["shard"]["count"], 2);
  EXPECT_TRUE(r.contains("push_gateway"));
  EXPECT_TRUE(std::filesystem::exists(dir.path().string() + "/run-" + vars["START_AT"] +
                                      "-shard-1.intervals.jsonl"));
}

TEST(Manifests, ContainersStartWithTheirArgsAndAnswerTheirProbes) {
  // The target pod as the manifests compose it, on loopback: the target with its args, the
  // sidecar proxy with its args and the generated proxies.json, a real Redis behind it. Only the
  // addresses change (loopback ports instead of the pod's); the probes' paths then answer 200,
  // /readyz through the sidecar to Redis.
  REQUIRE_DEPLOY_TOOLS();
  const json* target = find_object(stack().objects, "Deployment", "faultline-target");
  ASSERT_TRUE(target);
  const json& spec = (*target)["spec"]["template"]["spec"];
  const json* cm = nullptr;
  for (const auto& o : stack().objects)
    if (o["kind"] == "ConfigMap" &&
        o["metadata"]["name"].get<std::string>().rfind("faultline-target-sidecar", 0) == 0)
      cm = &o;
  ASSERT_TRUE(cm);
  RedisServer redis;
  TempDir dir;
  const unsigned short sidecar_port = free_loopback_port();
  json proxies = json::parse((*cm)["data"]["proxies.json"].get<std::string>());
  proxies[0]["listen"] = fmt::format("127.0.0.1:{}", sidecar_port);
  proxies[0]["upstream"] = fmt::format("127.0.0.1:{}", redis.port());
  const std::string config = write_json(dir, "proxies.json", proxies);

  auto rewrite = [&](const json& c) {
    std::vector<std::string> args;
    for (const auto& a : c["args"]) {
      std::string s = a.get<std::string>();
      if (s.rfind("--listen=", 0) == 0 || s.rfind("--api=", 0) == 0)
        s = s.substr(0, s.find('=') + 1) + "127.0.0.1:0";
      if (s.rfind("--config=", 0) == 0) s = "--config=" + config;
      if (s == "--store=redis://127.0.0.1:6380")
        s = fmt::format("--store=redis://127.0.0.1:{}", sidecar_port);
      args.push_back(s);
    }
    return args;
  };
  const json& sidecar_c = container(spec, "proxy");
  auto sidecar = start_faultline(rewrite(sidecar_c));
  ASSERT_TRUE(sidecar);
  const json& target_c = container(spec, "target");
  auto tgt = start_faultline(rewrite(target_c));
  ASSERT_TRUE(tgt);
  auto get = [](const HostPort& at, const std::string& path) {
    auto [ec, res] = http_fetch_sync(at, {"GET", path, "", {}, std::chrono::milliseconds(3000)});
    return ec ? 0u : res.status;
  };
  for (const char* probe : {"livenessProbe", "readinessProbe"}) {
    EXPECT_EQ(get(sidecar->address, sidecar_c[probe]["httpGet"]["path"]), 200u) << probe;
    EXPECT_EQ(get(tgt->address, target_c[probe]["httpGet"]["path"]), 200u) << probe;
  }
  // The sidecar runs the one pass-through proxy the target's store uses.
  auto [ec, res] = http_fetch_sync(sidecar->address,
                                   {"GET", "/proxies", "", {}, std::chrono::milliseconds(3000)});
  ASSERT_FALSE(ec);
  EXPECT_EQ(json::parse(res.body)["redis"]["protocol"], "redis") << res.body;
  // The standalone proxy too: its args, its probe.
  const json* standalone = find_object(stack().objects, "Deployment", "faultline-proxy");
  ASSERT_TRUE(standalone);
  const json& proxy_c = container((*standalone)["spec"]["template"]["spec"], "proxy");
  auto proxy = start_faultline(rewrite(proxy_c));
  ASSERT_TRUE(proxy);
  EXPECT_EQ(get(proxy->address, proxy_c["readinessProbe"]["httpGet"]["path"]), 200u);
}

TEST(Manifests, DashboardConfigMapIsGeneratedFromTheRepositoryFile) {
  REQUIRE_DEPLOY_TOOLS();
  const json* cm = find_object(stack().objects, "ConfigMap", "faultline-dashboards");
  ASSERT_TRUE(cm);
  EXPECT_EQ((*cm)["metadata"]["labels"]["grafana_dashboard"], "1");
  const std::string file = source_dir() + "/dashboards/grafana/dashboards/faultline-overview.json";
  EXPECT_EQ((*cm)["data"]["faultline-overview.json"].get<std::string>(), read_text(file));
  // The datasource the sidecar provisions is the one every panel names.
  const json* ds = find_object(stack().objects, "ConfigMap", "faultline-grafana-datasource");
  ASSERT_TRUE(ds);
  EXPECT_EQ((*ds)["metadata"]["labels"]["grafana_datasource"], "1");
  EXPECT_NE((*ds)["data"]["faultline-datasource.yaml"].get<std::string>().find(
                "uid: faultline-prometheus"),
            std::string::npos);
  EXPECT_NE(read_text(file).find("\"uid\": \"faultline-prometheus\""), std::string::npos);
}
