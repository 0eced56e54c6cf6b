// The Dockerfile, checked without building an image (no image can be pulled here): both stages
// are Debian 12; the build stage installs its packages with scripts/install-deps; the runtime
// stage's packages are real Debian 12 packages that install-deps brings (each is installed on
// this Debian 12 machine and is a dependency of a package install-deps names) and together they
// provide every shared library the built `faultline` binary links against (ldd + dpkg -S); the
// image runs as the non-root user the manifests expect, with `faultline` as its entry point.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "tests/deploy/deploy_support.hpp"

using namespace faultline;
using namespace faultline::test;
using namespace faultline::test::deploy;

namespace {

std::string dockerfile() {
  return read_text(source_dir() + "/Dockerfile");
}

// Lines of the Dockerfile with backslash continuations joined.
std::vector<std::string> instructions() {
  std::vector<std::string> out;
  std::istringstream in(dockerfile());
  std::string line, cur;
  while (std::getline(in, line)) {
    if (cur.empty() && (line.empty() || line[0] == '#')) continue;
    if (!line.empty() && line.back() == '\\') {
      cur += line.substr(0, line.size() - 1) + " ";
      continue;
    }
    cur += line;
    out.push_back(cur);
    cur.clear();
  }
  return out;
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;)
    out.push_back(w);
  return out;
}

// The packages of the last stage's `apt-get install` (flags left out).
std::set<std::string> runtime_packages() {
  std::set<std::string> out;
  bool last_stage = false;
  int stages = 0;
  for (const auto& ins : instructions()) {
    if (ins.rfind("FROM ", 0) == 0) last_stage = ++stages == 2;
    if (!last_stage || ins.rfind("RUN ", 0) != 0) continue;
    const auto at = ins.find("apt-get install");
    if (at == std::string::npos) continue;
    for (const auto& w : words(ins.substr(at + 15))) {
      if (w == "&&") break;
      if (w[0] != '-') out.insert(w);
    }
  }
  return out;
}

// The package lists of scripts/install-deps (BUILD_PKGS, TEST_PKGS, BENCH_PKGS).
std::set<std::string> install_deps_packages() {
  const std::string text = read_text(source_dir() + "/scripts/install-deps");
  std::set<std::string> out;
  const std::regex list(R"(([A-Z]+_PKGS)=\(([^)]*)\))");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), list); it != std::sregex_iterator();
       ++it) {
    std::istringstream in((*it)[2].str());
    for (std::string line; std::getline(in, line);) {
      line = line.substr(0, line.find('#'));
      for (const auto& w : words(line))
        out.insert(w);
    }
  }
  return out;
}

// Package names in a Depends/Recommends field ("a (>= 1), b | c, d:any").
std::set<std::string> relation_names(const std::string& field) {
  std::set<std::string> out;
  const std::regex name(R"((?:^|[,|]\s*)([a-z0-9][a-z0-9+.\-]*))");
  for (auto it = std::sregex_iterator(field.begin(), field.end(), name);
       it != std::sregex_iterator(); ++it)
    out.insert((*it)[1].str());
  return out;
}

bool dpkg_available() {
  return find_program("dpkg-query").has_value() && find_program("ldd").has_value();
}

}  // namespace

TEST(Dockerfile, BothStagesAreDebian12FromTheirOfficialImages) {
  std::vector<std::string> froms;
  for (const auto& ins : instructions())
    if (ins.rfind("FROM ", 0) == 0) froms.push_back(words(ins)[1]);
  ASSERT_EQ(froms.size(), 2u);
  EXPECT_EQ(froms[0], "debian:12");
  EXPECT_EQ(froms[1], "debian:12-slim");
}

TEST(Dockerfile, BuildStageUsesInstallDepsAndBuildsTheBinary) {
  const std::string d = dockerfile();
  EXPECT_NE(d.find("COPY scripts/install-deps scripts/install-deps"), std::string::npos);
  EXPECT_NE(d.find("bash scripts/install-deps --build-only"), std::string::npos);
  EXPECT_NE(d.find("cmake --preset release"), std::string::npos);
  EXPECT_NE(d.find("--target faultline"), std::string::npos);
  EXPECT_NE(d.find("COPY --from=build /out/faultline /usr/local/bin/faultline"), std::string::npos);
}

TEST(Dockerfile, RunsNonRootWithFaultlineAsEntryPoint) {
  const auto ins = instructions();
  std::string user, entry;
  for (const auto& i : ins) {
    if (i.rfind("USER ", 0) == 0) user = words(i)[1];
    if (i.rfind("ENTRYPOINT ", 0) == 0) entry = i.substr(11);
  }
  // Numeric: Kubernetes' runAsNonRoot can only verify a numeric user (the manifests' runAsUser).
  EXPECT_EQ(user, "10001:10001");
  EXPECT_EQ(entry, R"(["faultline"])");
  EXPECT_NE(dockerfile().find("useradd --system --uid 10001"), std::string::npos);
}

TEST(Dockerfile, RuntimePackagesAreDebianPackagesThatInstallDepsBrings) {
  if (!dpkg_available()) GTEST_SKIP() << "not a Debian machine (dpkg-query)";
  const auto runtime = runtime_packages();
  ASSERT_GE(runtime.size(), 5u);
  // Everything the packages install-deps names depend on or recommend.
  std::set<std::string> brought;
  for (const auto& p : install_deps_packages()) {
    brought.insert(p);
    const auto r = run_command({"dpkg-query", "-W", "-f=${Depends}, ${Recommends}", p});
    if (r.code == 0)
      for (const auto& n : relation_names(r.out))
        brought.insert(n);
  }
  for (const auto& p : runtime) {
    const auto r = run_command({"dpkg-query", "-W", "-f=${Status}", p});
    EXPECT_NE(r.out.find("install ok installed"), std::string::npos)
        << p << " is not an installed Debian package here: " << r.out << r.err;
    EXPECT_TRUE(brought.count(p)) << p
                                  << " is not brought by any package scripts/install-deps names";
  }
}

TEST(Dockerfile, RuntimePackagesProvideEveryLibraryOfTheBinary) {
  if (!dpkg_available() || !find_program("readelf")) GTEST_SKIP() << "no dpkg-query/readelf";
  const auto runtime = runtime_packages();
  // The libraries the binary itself names (NEEDED); theirs come with their packages.
  const auto elf = run_command({"readelf", "-d", faultline_bin()});
  ASSERT_EQ(elf.code, 0) << elf.err;
  const auto ldd = run_command({"ldd", faultline_bin()});
  ASSERT_EQ(ldd.code, 0) << ldd.err;
  // In every debian:12-slim image already (essential, or needed by apt itself).
  const std::set<std::string> base = {"libc6", "libgcc-s1", "libstdc++6"};
  const std::regex needed(R"(\(NEEDED\)\s+Shared library: \[([^\]]+)\])");
  std::size_t libs = 0;
  for (auto it = std::sregex_iterator(elf.out.begin(), elf.out.end(), needed);
       it != std::sregex_iterator(); ++it) {
    ++libs;
    const std::string soname = (*it)[1].str();
    // A sanitizer build (the asan-ubsan preset) links the sanitizer runtimes; the image is built
    // with the release preset, which does not.
    if (soname.rfind("libasan.", 0) == 0 || soname.rfind("libubsan.", 0) == 0 ||
        soname.rfind("libtsan.", 0) == 0 || soname.rfind("liblsan.", 0) == 0)
      continue;
    const std::regex where("\\s" + std::regex_replace(soname, std::regex(R"([.+])"), R"(\$&)") +
                           R"(\s+=>\s+(/\S+))");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(ldd.out, m, where)) << soname << " not resolved:\n" << ldd.out;
    const std::string path = m[1].str();
    auto owner = run_command({"dpkg", "-S", path});
    if (owner.code != 0 && path.rfind("/lib/", 0) == 0)  // merged /usr: dpkg knows one of the two
      owner = run_command({"dpkg", "-S", "/usr" + path});
    ASSERT_EQ(owner.code, 0) << path << ": " << owner.err;
    const std::string pkg = owner.out.substr(0, owner.out.find(':'));
    EXPECT_TRUE(base.count(pkg) || runtime.count(pkg))
        << soname << " (" << path << ") comes from " << pkg
        << ", which the runtime stage does not install";
  }
  EXPECT_GE(libs, 6u) << elf.out;
}
