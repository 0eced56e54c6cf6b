// Generator "paste": its workload members (accepted and rejected with JSON paths), and one
// iteration against a fake exchanger (create, then read back the returned url).
#include <gtest/gtest.h>

#include "tests/loadgen/generators/fake_exchanger.hpp"

using namespace faultline;
using namespace faultline::loadgen;
using namespace faultline::loadgen::test;

TEST(PasteGenerator, NamesItsStatsAndReadsBackOnlyWhenAsked) {
  ConfigErrors errors;
  Workload w = parse_entry({{"name", "p"}, {"generator", "paste"}, {"read_back", true}}, errors);
  EXPECT_TRUE(errors.empty()) << errors.to_string();
  EXPECT_EQ(w.request_names, (std::vector<std::string>{"p.create", "p.read"}));
  Workload once = parse_entry({{"name", "p"}, {"generator", "paste"}}, errors);
  EXPECT_TRUE(errors.empty()) << errors.to_string();
  EXPECT_EQ(once.request_names, (std::vector<std::string>{"p.create"}));
}

TEST(PasteGenerator, RejectsBadMembersWithTheirPaths) {
  ConfigErrors errors;
  parse_entry({{"name", "p"},
               {"generator", "paste"},
               {"read_back", "yes"},
               {"size", {{"min", "4KiB"}, {"max", "1KiB"}}},
               {"colour", 1}},
              errors);
  EXPECT_TRUE(has_error_at(errors, "$.mix[0].read_back")) << errors.to_string();
  EXPECT_TRUE(has_error_at(errors, "$.mix[0].size")) << errors.to_string();
  EXPECT_TRUE(has_error_at(errors, "$.mix[0].colour")) << errors.to_string();
  ConfigErrors bad_size;
  parse_entry({{"name", "p"}, {"generator", "paste"}, {"size", "lots"}}, bad_size);
  EXPECT_TRUE(has_error_at(bad_size, "$.mix[0].size")) << bad_size.to_string();
}

TEST(PasteGenerator, CreatesThenReadsBackTheReturnedUrl) {
  ConfigErrors errors;
  Workload w = parse_entry(
      {{"name", "p"}, {"generator", "paste"}, {"size", "2KiB"}, {"read_back", true}}, errors);
  ASSERT_TRUE(errors.empty()) << errors.to_string();
  FakeExchanger ex;
  ex.respond = [](const GeneratedRequest& r) {
    return r.method == "POST" ? ok_with_body(R"({"id": "abc", "url": "/p/abc"})")
                              : ok_with_body("text");
  };
  run_iteration(*w.entries[0].generator, ex);
  ASSERT_EQ(ex.sent.size(), 2u);
  EXPECT_EQ(ex.sent[0].method, "POST");
  EXPECT_EQ(ex.sent[0].target, "/pastes");
  EXPECT_EQ(ex.sent[0].content_type, "text/plain");
  EXPECT_EQ(ex.sent[0].body.size(), 2048u);
  EXPECT_EQ(ex.sent[0].name_index, 0u);
  EXPECT_EQ(ex.sent[1].method, "GET");
  EXPECT_EQ(ex.sent[1].target, "/p/abc");
  EXPECT_EQ(ex.sent[1].name_index, 1u);
}

TEST(PasteGenerator, StopsAfterAFailedCreateOrAnAnswerWithoutUrl) {
  ConfigErrors errors;
  Workload w = parse_entry({{"name", "p"}, {"generator", "paste"}, {"read_back", true}}, errors);
  ASSERT_TRUE(errors.empty()) << errors.to_string();
  FakeExchanger failed;
  failed.respond = [](const GeneratedRequest&) {
    StepResult r;
    r.outcome = Outcome::http_5xx;
    r.status = 503;
    return r;
  };
  run_iteration(*w.entries[0].generator, failed);
  EXPECT_EQ(failed.sent.size(), 1u);
  FakeExchanger no_url;
  no_url.respond = [](const GeneratedRequest&) { return ok_with_body("not json"); };
  run_iteration(*w.entries[0].generator, no_url);
  EXPECT_EQ(no_url.sent.size(), 1u);
}

TEST(PasteGenerator, BodiesFollowTheSizeRangeAndTheSeed) {
  ConfigErrors errors;
  // Byte sizes are unsigned JSON numbers, as a parsed workload file has them.
  Workload w = parse_entry(
      {{"name", "p"}, {"generator", "paste"}, {"size", {{"min", 100u}, {"max", 200u}}}}, errors);
  ASSERT_TRUE(errors.empty()) << errors.to_string();
  FakeExchanger a(7), b(7);
  for (int i = 0; i < 50; ++i) {
    run_iteration(*w.entries[0].generator, a);
    run_iteration(*w.entries[0].generator, b);
  }
  ASSERT_EQ(a.sent.size(), 50u);
  for (std::size_t i = 0; i < a.sent.size(); ++i) {
    EXPECT_GE(a.sent[i].body.size(), 100u);
    EXPECT_LE(a.sent[i].body.size(), 200u);
    EXPECT_EQ(a.sent[i].body, b.sent[i].body);  // same seed, same bodies
  }
}
