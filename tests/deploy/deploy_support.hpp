// Helpers of the tests/deploy tests: run a command and capture its output, the pinned tools
// (tests/deploy/tools, installed by scripts/install-deploy-tools), and rendering + validating a
// kustomization with them.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/subprocess.hpp"
#include "tests/support/support.hpp"

namespace faultline::test::deploy {

struct CommandResult {
  int code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs argv to completion (at most `timeout`), capturing stdout and stderr.
inline CommandResult run_command(const std::vector<std::string>& argv,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  TempDir dir;
  SubprocessOptions o;
  o.stdout_file = dir.file("out");
  o.stderr_file = dir.file("err");
  CommandResult r;
  Subprocess p(argv, o);
  r.code = p.wait(timeout);
  r.out = read_text(dir.file("out"));
  r.err = read_text(dir.file("err"));
  return r;
}

inline std::string tools_dir() {
  return source_dir() + "/tests/deploy/tools";
}
inline std::string kubectl_path() {
  return tools_dir() + "/bin/kubectl";
}

// Whether the pinned tools are installed; when not, fails the test under CI (where
// scripts/install-deps installs them) and skips it elsewhere — use with REQUIRE_DEPLOY_TOOLS.
inline std::optional<std::string> missing_deploy_tool() {
  namespace fs = std::filesystem;
  if (!find_program("node")) return "node";
  if (!fs::exists(kubectl_path())) return kubectl_path();
  if (!fs::exists(tools_dir() + "/node_modules/kubernetes-models"))
    return tools_dir() + "/node_modules/kubernetes-models";
  return std::nullopt;
}
#define REQUIRE_DEPLOY_TOOLS()                                                           \
  do {                                                                                   \
    if (auto missing = ::faultline::test::deploy::missing_deploy_tool()) {               \
      if (std::getenv("CI")) FAIL() << *missing << " is missing (scripts/install-deps)"; \
      GTEST_SKIP() << *missing << " is missing: run scripts/install-deps (it calls "     \
                   << "scripts/install-deploy-tools)";                                   \
    }                                                                                    \
  } while (0)

struct Validated {
  CommandResult render;                              // kubectl kustomize
  CommandResult validate;                            // node validate.mjs
  nlohmann::json objects = nlohmann::json::array();  // the rendered objects
};

// Renders the kustomization in `dir` (absolute) with the pinned kubectl and validates every
// object against the upstream schemas.
inline Validated render_and_validate(const std::string& dir) {
  Validated v;
  TempDir tmp;
  v.render = run_command({kubectl_path(), "kustomize", dir});
  if (v.render.code != 0) return v;
  std::ofstream(tmp.file("rendered.yaml")) << v.render.out;
  v.validate = run_command({"node", tools_dir() + "/validate.mjs", tmp.file("rendered.yaml"),
                            "--json", tmp.file("objects.json")});
  if (std::filesystem::exists(tmp.file("objects.json")))
    v.objects = nlohmann::json::parse(read_text(tmp.file("objects.json")));
  return v;
}

// The object of `kind` named `name` (nullptr when absent).
inline const nlohmann::json* find_object(const nlohmann::json& objects, const std::string& kind,
                                         const std::string& name) {
  for (const auto& o : objects)
    if (o.value("kind", "") == kind && o["metadata"].value("name", "") == name) return &o;
  return nullptr;
}

// The pod template (or the Pod's own spec holder) of a workload object; nullptr for others.
inline const nlohmann::json* pod_template(const nlohmann::json& o) {
  const std::string kind = o.value("kind", "");
  if (kind == "Pod") return &o;
  if (kind == "Deployment" || kind == "StatefulSet" || kind == "Job" || kind == "DaemonSet")
    return &o["spec"]["template"];
  return nullptr;
}

}  // namespace faultline::test::deploy
