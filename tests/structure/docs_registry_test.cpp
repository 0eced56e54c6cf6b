// The reference docs list exactly what the registries hold: every proxy behavior in
// docs/proxy.md, every assertion kind in docs/run.md, every load generator in docs/load.md
// (each name in backticks). A plug-in added without its documentation fails here.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "loadgen/generator.hpp"
#include "proxy/behaviors/builtin.hpp"
#include "runner/assertions/assertion.hpp"

namespace faultline {
namespace {

std::string read_doc(const std::string& rel) {
  std::ifstream in(std::string(FAULTLINE_SOURCE_DIR) + "/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void expect_documented(const std::string& doc, const std::vector<std::string>& names,
                       const char* what) {
  const std::string text = read_doc(doc);
  ASSERT_FALSE(text.empty()) << doc << " is missing";
  ASSERT_FALSE(names.empty()) << what;
  for (const auto& n : names)
    EXPECT_NE(text.find("`" + n + "`"), std::string::npos)
        << what << " \"" << n << "\" is registered but not documented in " << doc;
}

TEST(DocsRegistry, EveryProxyBehaviorIsInProxyMd) {
  proxy::Registry registry;
  proxy::register_builtin_behaviors(registry);
  expect_documented("docs/proxy.md", registry.names(), "proxy behavior");
}

TEST(DocsRegistry, EveryAssertionKindIsInRunMd) {
  expect_documented("docs/run.md", runner::builtin_assertions().kinds(), "assertion kind");
}

TEST(DocsRegistry, EveryLoadGeneratorIsInLoadMd) {
  expect_documented("docs/load.md", loadgen::builtin_generators().names(), "load generator");
}

}  // namespace
}  // namespace faultline
