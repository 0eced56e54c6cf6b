// The run record (run_record.hpp): what is appended can be read back; bytes from other programs
// that are not UTF-8 are replaced instead of throwing; a torn last line is skipped and counted; a
// directory without a record is a clear error.
#include "runner/run_record.hpp"

#include <fstream>

#include <gtest/gtest.h>

#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::runner;

TEST(RunRecord, AppendedEventsReadBackAndInvalidUtf8IsReplaced) {
  test::TempDir dir;
  {
    RunRecordWriter w;
    ASSERT_EQ(w.open(dir.path().string(), {{"record_version", 1}}), "");
    w.append({{"type", "timeline"}, {"action", "exec: output \"\xff\xfe\""}});
    w.append({{"type", "resources"}, {"t", 1.0}});
    EXPECT_EQ(w.failed_writes(), 0u);
  }
  // The runner killed mid-write: half a line at the end.
  std::ofstream(dir.file(kRunEventsFile), std::ios::app) << "{\"type\": \"bound";
  RecordedRun r = read_run_record(dir.path().string());
  EXPECT_EQ(r.header["record_version"], 1);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0]["action"].get<std::string>().rfind("exec: output", 0), 0u);
  EXPECT_EQ(r.events[1]["t"], 1.0);
  EXPECT_EQ(r.skipped_lines, 1u);
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
