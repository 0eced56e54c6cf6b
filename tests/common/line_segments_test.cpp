// Rolling, gzip-compressed line streams: every line written is read once, in order, by a whole
// read and by a live tail across rolls; an interrupted compression loses nothing.
#include "common/line_segments.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/support/support.hpp"

namespace faultline {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> read_all(const std::string& path) {
  std::vector<std::string> lines;
  std::string error;
  EXPECT_TRUE(for_each_line(
      path, [&](const std::string& l) { lines.push_back(l); }, error))
      << error;
  return lines;
}

TEST(LineSegments, RollsIntoGzipSegmentsAndReadsBackInOrder) {
  test::TempDir dir;
  const std::string path = dir.file("s.jsonl");
  std::vector<std::string> expected;
  {
    RollingLineWriter w;
    std::string error;
    ASSERT_TRUE(w.open(path, error)) << error;
    for (int i = 0; i < 300; ++i) {
      expected.push_back(std::string(200, 'a' + static_cast<char>(i % 26)) + std::to_string(i));
      ASSERT_TRUE(w.write(expected.back()));
      if (i % 100 == 99) {
        ASSERT_TRUE(w.roll(error)) << error;
      }
    }
    EXPECT_EQ(w.segments(), 3u);
  }
  const auto segs = rolled_segments(path);
  ASSERT_EQ(segs.size(), 3u);
  for (const auto& s : segs) {
    EXPECT_EQ(s.extension(), ".gz") << s;
    EXPECT_LT(fs::file_size(s), 100u * 200u / 4) << "compressed";
  }
  EXPECT_FALSE(fs::exists(path + ".0001")) << "the plain segment is removed once compressed";
  EXPECT_EQ(fs::file_size(path), 0u);
  EXPECT_EQ(read_all(path), expected);
}

TEST(LineSegments, AnInterruptedCompressionLosesNothing) {
  test::TempDir dir;
  const std::string path = dir.file("s.jsonl");
  // As a crash mid-compression leaves them: segment 1 plain with a partial .gz.tmp, segment 2 gz.
  std::ofstream(path + ".0001") << "one\ntwo\n";
  std::ofstream(path + ".0001.gz.tmp") << "garbage";
  std::ofstream(path + ".0002.src") << "three\n";
  std::string error;
  ASSERT_TRUE(gzip_file(path + ".0002.src", path + ".0002.gz", error)) << error;
  std::ofstream(path) << "four\nfive-torn";
  EXPECT_EQ(read_all(path), (std::vector<std::string>{"one", "two", "three", "four", "five-torn"}));
}

TEST(LineSegments, OpenRemovesAnEarlierStreamsSegments) {
  test::TempDir dir;
  const std::string path = dir.file("s.jsonl");
  std::ofstream(path + ".0001") << "old\n";
  std::ofstream(path + ".0002.gz") << "old";
  RollingLineWriter w;
  std::string error;
  ASSERT_TRUE(w.open(path, error)) << error;
  ASSERT_TRUE(w.write("new"));
  EXPECT_TRUE(rolled_segments(path).empty());
  EXPECT_EQ(read_all(path), std::vector<std::string>{"new"});
}

TEST(LineSegments, OpenFailsClearlyOnAnUnwritablePath) {
  RollingLineWriter w;
  std::string error;
  EXPECT_FALSE(w.open("/nonexistent-dir/s.jsonl", error));
  EXPECT_NE(error.find("/nonexistent-dir/s.jsonl"), std::string::npos) << error;
}

TEST(LineSegments, TailFollowsRollsWithoutLosingOrRepeatingLines) {
  test::TempDir dir;
  const std::string path = dir.file("s.jsonl");
  RollingLineWriter w;
  std::string error;
  ASSERT_TRUE(w.open(path, error)) << error;
  LineTail tail(path);
  std::vector<std::string> got;
  int n = 0;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 7; ++i)
      ASSERT_TRUE(w.write(std::to_string(n++)));
    if (round % 2 == 0) {  // lines read before the roll, or all read after it
      for (auto& l : tail.read())
        got.push_back(l);
    }
    ASSERT_TRUE(w.roll(error)) << error;
    ASSERT_TRUE(w.write(std::to_string(n++)));  // in the new segment before the tail looks
    for (auto& l : tail.read())
      got.push_back(l);
  }
  w.finish();
  for (auto& l : tail.read())
    got.push_back(l);
  std::vector<std::string> expected;
  for (int i = 0; i < n; ++i)
    expected.push_back(std::to_string(i));
  EXPECT_EQ(got, expected);
  EXPECT_EQ(read_all(path), expected);
}

}  // namespace
}  // namespace faultline
