// Generator "story": its workload members (pages 1..1000) and one iteration against a fake paste
// store: pages are written last to first, each linking to the next, then read by following links.
#include <gtest/gtest.h>

#include <map>

#include "tests/loadgen/generators/fake_exchanger.hpp"

using namespace faultline;
using namespace faultline::loadgen;
using namespace faultline::loadgen::test;

TEST(StoryGenerator, RejectsBadPagesWithTheirPath) {
  for (const json& bad : {json(0), json(1001), json("5")}) {
    ConfigErrors errors;
    parse_entry({{"name", "st"}, {"generator", "story"}, {"pages", bad}}, errors);
    EXPECT_TRUE(has_error_at(errors, "$.mix[0].pages")) << bad << errors.to_string();
  }
}

TEST(StoryGenerator, WritesTheChainBackwardsAndFollowsIt) {
  ConfigErrors errors;
  Workload w = parse_entry({{"name", "st"}, {"generator", "story"}, {"pages", 3}}, errors);
  ASSERT_TRUE(errors.empty()) << errors.to_string();
  EXPECT_EQ(w.request_names, (std::vector<std::string>{"st.create", "st.read"}));
  // A paste store: POST stores the body under /p/N, GET returns it.
  std::map<std::string, std::string> store;
  FakeExchanger ex;
  ex.respond = [&store](const GeneratedRequest& r) {
    if (r.method == "POST") {
      const std::string url = "/p/" + std::to_string(store.size());
      store[url] = r.body;
      return ok_with_body(json{{"url", url}}.dump());
    }
    return ok_with_body(store.at(r.target));
  };
  run_iteration(*w.entries[0].generator, ex);
  ASSERT_EQ(ex.sent.size(), 6u);
  // Written last page first; the last page links nowhere, the others to the page after them.
  EXPECT_EQ(ex.sent[0].body.rfind("story page 3/3\n", 0), 0u);
  EXPECT_EQ(ex.sent[0].body.find("next: "), std::string::npos);
  EXPECT_NE(ex.sent[1].body.find("next: /p/0\n"), std::string::npos);
  EXPECT_NE(ex.sent[2].body.find("next: /p/1\n"), std::string::npos);
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_EQ(ex.sent[i].name_index, 0u);
  // Read from the first page (written last) to the end.
  EXPECT_EQ(ex.sent[3].target, "/p/2");
  EXPECT_EQ(ex.sent[4].target, "/p/1");
  EXPECT_EQ(ex.sent[5].target, "/p/0");
  for (std::size_t i = 3; i < 6; ++i) {
    EXPECT_EQ(ex.sent[i].method, "GET");
    EXPECT_EQ(ex.sent[i].name_index, 1u);
  }
}
