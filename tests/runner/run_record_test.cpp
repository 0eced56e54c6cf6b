// The run record (run_record.hpp) and the ledger that applies it (ledger.hpp): every event type
// reads back as it was written; bytes from other programs that are not UTF-8 are replaced instead
// of throwing; a torn last line and an unknown event are skipped and counted; a directory without
// a record is a clear error; a failed write is counted and makes results.json say the record is
// incomplete; events applied to two ledgers give the same results.
#include "runner/ledger/run_record.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "runner/ledger/ledger.hpp"
#include "runner/scenario/scenario.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::runner;

namespace {

RunHeader header() {
  RunHeader h;
  h.scenario_source = json::object();
  h.started_at = "2026-12-06T00:00:00Z";
  return h;
}

}  // namespace

TEST(RunRecord, EveryEventTypeReadsBackAndInvalidUtf8IsReplaced) {
  test::TempDir dir;
  const std::vector<RunEvent> events{
      event::Phase{1, 6.01},
      event::Boundary{1, 6.01, "target", "up 1\n"},
      event::Resources{2.0, {{"target_rss_bytes", 1e6}}},
      event::Timeline{6.0, "errors", "exec: output \"\xff\xfe\""},
      event::Promql{"q", 0.5, "", "sum(x)", 12.0},
      event::Promql{"none", std::nullopt, "no data", "sum(y)", 12.0},
      event::Death{7.5, "redis:1", 137, "/out/logs/redis-1.log"},
      event::CutShort{2, 8.0},
      event::End{Verdict::error, "redis shard 1 exited", 9.5, 8.0},
  };
  {
    RunRecordWriter w;
    ASSERT_EQ(w.open(dir.path().string(), header()), "");
    for (const auto& e : events)
      w.append(e);
    EXPECT_EQ(w.failed_writes(), 0u);
  }
  // The runner killed mid-write: half a line at the end; and a type this faultline does not know.
  std::ofstream(dir.file(kRunEventsFile), std::ios::app) << "{\"type\": \"future\"}\n"
                                                         << "{\"type\": \"bound";
  RecordedRun r = read_run_record(dir.path().string());
  EXPECT_EQ(r.header.started_at, "2026-12-06T00:00:00Z");
  ASSERT_EQ(r.events.size(), events.size());
  EXPECT_EQ(r.skipped_lines, 2u);
  for (std::size_t i = 0; i < events.size(); ++i) {
    json expected = to_json(events[i]);
    if (i == 3) expected["action"] = to_json(r.events[i])["action"];  // replaced bytes
    EXPECT_EQ(to_json(r.events[i]), expected) << i;
  }
  EXPECT_EQ(std::get<event::Timeline>(r.events[3]).action.rfind("exec: output", 0), 0u);
  EXPECT_EQ(std::get<event::End>(r.events.back()).verdict, Verdict::error);
}

TEST(RunRecord, ADirectoryWithoutARecordIsAClearError) {
  test::TempDir dir;
  try {
    read_run_record(dir.path().string());
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("no run-record.json"), std::string::npos) << e.what();
  }
}

TEST(RunRecord, AFailedWriteIsCountedNotSilent) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  test::TempDir dir;
  // Every write to the events file fails with ENOSPC.
  std::filesystem::create_symlink("/dev/full", dir.file(kRunEventsFile));
  RunRecordWriter w;
  ASSERT_EQ(w.open(dir.path().string(), header()), "");
  w.append(event::Timeline{1.0, "a", "phase starts"});
  w.append(event::Resources{1.0, {}});
  EXPECT_EQ(w.failed_writes(), 2u);
}

TEST(RunRecord, VerdictsAndExitCodes) {
  EXPECT_EQ(exit_code_of(Verdict::pass), 0);
  EXPECT_EQ(exit_code_of(Verdict::fail), 1);
  EXPECT_EQ(exit_code_of(Verdict::error), 2);
  EXPECT_EQ(exit_code_of(Verdict::interrupted), 130);
  for (Verdict v : {Verdict::pass, Verdict::fail, Verdict::error, Verdict::interrupted})
    EXPECT_EQ(parse_verdict(to_string(v)), v);
  EXPECT_FALSE(parse_verdict("maybe"));
}

TEST(RunLedger, ReplayedEventsGiveTheSameResultsAsTheLiveOnes) {
  const Scenario s = parse_scenario(json::parse(R"({
    "name": "ledger",
    "duration": "4s",
    "services": {"target": {}},
    "load": {"rate": 10,
             "workload": {"mix": [{"name": "h", "url": "/"}]}},
    "timeline": [{"at": "0s", "phase": "one"}, {"at": "2s", "phase": "two"}],
    "assertions": [{"name": "clean", "kind": "error_ratio", "phase": "*", "max": 0.01}]
  })"),
                                    ".");
  test::TempDir dir;
  RunLedger live(s);
  ASSERT_EQ(live.open_record(dir.path().string(), header()), "");
  live.record(event::Phase{0, 0.0});
  live.record(event::Timeline{0.0, "one", "phase starts"});
  live.record(event::Resources{0.5, {{"load_rss_bytes", 2e6}}});
  live.record(event::Phase{1, 2.0});
  live.record(event::Timeline{2.0, "two", "phase starts"});
  live.record(event::Death{3.0, "api", 1, "api.log"});
  live.record(event::CutShort{2, 3.0});
  live.record(event::End{Verdict::error, "process api exited", 3.5, 3.0});
  RunLedger replayed(s);
  for (const auto& e : read_run_record(dir.path().string()).events)
    replayed.apply(e);
  RunInfo info;
  const auto a = live.results(info, false, 0);
  const auto b = replayed.results(info, false, 0);
  EXPECT_EQ(a.doc, b.doc);
  EXPECT_EQ(a.exit_code, 2);
  EXPECT_EQ(a.doc["verdict"], "error");
  EXPECT_EQ(a.doc["events"].size(), 1u);
  EXPECT_EQ(a.doc["phases"].size(), 2u);
  EXPECT_EQ(live.completed_phases(), 1u);
}
