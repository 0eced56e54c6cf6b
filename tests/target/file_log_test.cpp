// Recovery of the file store's log (target/file_log.cpp) from damage anywhere in it: every intact
// record survives, the damaged bytes are copied aside byte for byte, and the log stays appendable.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include "target/file_log.hpp"
#include "target/solver/solver.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::target;
using faultline::test::TempDir;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

void append_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << bytes;
}

// Ten records of 300..2100 bytes (deterministic content), so a 4 KiB block covers whole records.
struct TenRecords {
  std::vector<std::string> contents;
  std::vector<std::size_t> offsets;  // of each record in `log`
  std::string log;

  TenRecords() {
    for (int i = 0; i < 10; ++i) {
      std::string c(300 + static_cast<std::size_t>(i) * 200, 'a');
      for (std::size_t k = 0; k < c.size(); ++k)
        c[k] = static_cast<char>('a' + (k * 7 + static_cast<std::size_t>(i)) % 26);
      offsets.push_back(log.size());
      log += encode_log_record(md5_hex(c), c);
      contents.push_back(std::move(c));
    }
  }
  std::size_t end_of(std::size_t i) const {
    return offsets[i] + kLogHeaderBytes + contents[i].size();
  }
};

struct Damage {
  std::string name;
  std::size_t from = 0;  // damaged byte range [from, to) of the log
  std::size_t to = 0;
  std::function<void(std::string&)> apply;
};

void set_u32(std::string& log, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    log[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFFu);
}

std::vector<Damage> damage_matrix(const TenRecords& t) {
  const std::size_t r3 = t.offsets[3];
  const auto len3 = static_cast<std::uint32_t>(t.contents[3].size());
  const std::size_t mid = t.log.size() / 2 - 2048;
  return {
      {"magic byte of the 4th record", r3, r3 + 1, [r3](std::string& l) { l[r3 + 1] ^= 0x20; }},
      {"length + 1", r3 + 4, r3 + 8, [=](std::string& l) { set_u32(l, r3 + 4, len3 + 1); }},
      {"length - 1", r3 + 4, r3 + 8, [=](std::string& l) { set_u32(l, r3 + 4, len3 - 1); }},
      {"length 0", r3 + 4, r3 + 8, [=](std::string& l) { set_u32(l, r3 + 4, 0); }},
      {"length huge", r3 + 4, r3 + 8, [=](std::string& l) { set_u32(l, r3 + 4, 0xFFFFFFF0u); }},
      {"4 KiB zeroed in the middle", mid, mid + 4096,
       [=](std::string& l) { std::fill_n(l.begin() + static_cast<std::ptrdiff_t>(mid), 4096, 0); }},
      {"magic of the first record", 0, 1, [](std::string& l) { l[0] = 'X'; }},
      {"checksum of the first record", 8, 12, [](std::string& l) { l[9] ^= 1; }},
  };
}

// The damaged/<offset>-<length>.bin files under `dir`, by offset.
std::map<std::size_t, std::string> saved_regions(const std::filesystem::path& dir) {
  std::map<std::size_t, std::string> out;
  const auto d = dir / "damaged";
  if (!std::filesystem::exists(d)) return out;
  for (const auto& e : std::filesystem::directory_iterator(d)) {
    const std::string name = e.path().filename().string();
    const auto dash = name.find('-');
    if (dash == std::string::npos || !name.ends_with(".bin")) continue;
    out[std::stoull(name.substr(0, dash))] = slurp(e.path().string());
  }
  return out;
}

// Short names of contents, so a failed comparison prints something readable.
std::vector<std::string> names(const std::vector<std::string>& contents) {
  std::vector<std::string> out;
  for (const auto& c : contents)
    out.push_back(std::to_string(c.size()) + ":" + md5_hex(c).substr(0, 6));
  return out;
}

std::vector<std::string> replay(const std::string& path) {
  std::vector<std::string> seen;
  recover_log(path, [&](std::string_view, std::string_view c) { seen.emplace_back(c); });
  return names(seen);
}

}  // namespace

// Test-first for issue 12: a damaged header used to stop replay and truncate the rest of the log.
TEST(FileLogRecovery, DamageMatrixKeepsEveryIntactRecordAndSavesTheDamage) {
  const TenRecords t;
  for (const Damage& d : damage_matrix(t)) {
    SCOPED_TRACE(d.name);
    TempDir dir;
    const std::string path = dir.file("pastes.log");
    std::string damaged = t.log;
    d.apply(damaged);
    write_all(path, damaged);

    std::vector<std::string> intact;
    for (std::size_t i = 0; i < t.contents.size(); ++i)
      if (t.end_of(i) <= d.from || t.offsets[i] >= d.to) intact.push_back(t.contents[i]);
    ASSERT_LT(intact.size(), t.contents.size());
    EXPECT_EQ(replay(path), names(intact));
    EXPECT_EQ(slurp(path).size(), damaged.size()) << "intact data must never be truncated";

    // Every damaged byte is in a saved region, each equal to the bytes that were in the log.
    const auto saved = saved_regions(dir.path());
    ASSERT_FALSE(saved.empty());
    std::size_t covered = 0;
    for (const auto& [offset, bytes] : saved) {
      EXPECT_EQ(bytes, damaged.substr(offset, bytes.size())) << "region at " << offset;
      if (offset <= d.from && offset + bytes.size() >= d.to) ++covered;
    }
    EXPECT_EQ(covered, 1u);

    // Appends after a recovery replay on the next restart, and nothing is saved twice.
    const std::string extra = "appended after recovery";
    append_bytes(path, encode_log_record(md5_hex(extra), extra));
    intact.push_back(extra);
    EXPECT_EQ(replay(path), names(intact));
    EXPECT_EQ(saved_regions(dir.path()).size(), saved.size());
  }
}

TEST(FileLogRecovery, TornTailIsCutButSavedFirst) {
  const TenRecords t;
  TempDir dir;
  const std::string path = dir.file("pastes.log");
  const std::size_t cut = t.offsets[9] + 100;  // the crash came in the middle of record 9
  write_all(path, t.log.substr(0, cut));
  auto r = recover_log(path, [](std::string_view, std::string_view) {});
  EXPECT_EQ(r.records, 9u);
  EXPECT_EQ(r.truncated_bytes, 100u);
  EXPECT_EQ(slurp(path), t.log.substr(0, t.offsets[9]));
  const auto saved = saved_regions(dir.path());
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(saved.begin()->first, t.offsets[9]);
  EXPECT_EQ(saved.begin()->second, t.log.substr(t.offsets[9], 100));
}

// Damage just before a torn tail: the damaged record is skipped in place, the tail is cut, and
// both are saved.
TEST(FileLogRecovery, DamageInTheMiddleAndATornTail) {
  const TenRecords t;
  TempDir dir;
  const std::string path = dir.file("pastes.log");
  std::string log = t.log.substr(0, t.offsets[9] + 10);
  log[t.offsets[5] + kLogHeaderBytes + 3] ^= 0x01;  // bit rot in record 5's content
  write_all(path, log);
  const std::vector<std::string> seen = replay(path);
  std::vector<std::string> want(t.contents.begin(), t.contents.begin() + 9);
  want.erase(want.begin() + 5);
  EXPECT_EQ(seen, names(want));
  EXPECT_EQ(slurp(path), log.substr(0, t.offsets[9]));
  const auto saved = saved_regions(dir.path());
  ASSERT_EQ(saved.size(), 2u);
  EXPECT_EQ(saved.at(t.offsets[5]), log.substr(t.offsets[5], t.end_of(5) - t.offsets[5]));
  EXPECT_EQ(saved.at(t.offsets[9]), log.substr(t.offsets[9], 10));
}

// A tail cut at the same offset and length twice (cut, re-appended, torn again) keeps both copies.
TEST(FileLogRecovery, SecondTornTailOfTheSameShapeIsSavedBesideTheFirst) {
  const TenRecords t;
  TempDir dir;
  const std::string path = dir.file("pastes.log");
  const std::string first = t.log.substr(t.offsets[1], 50);
  const std::string second = t.log.substr(t.offsets[2], 50);
  write_all(path, t.log.substr(0, t.offsets[1]) + first);
  EXPECT_EQ(recover_log(path, [](std::string_view, std::string_view) {}).truncated_bytes, 50u);
  append_bytes(path, second);
  const auto r = recover_log(path, [](std::string_view, std::string_view) {});
  ASSERT_EQ(r.damaged.size(), 1u);
  EXPECT_EQ(slurp(r.damaged[0].saved_to), second);
  EXPECT_EQ(slurp((dir.path() / "damaged" / (std::to_string(t.offsets[1]) + "-50.bin")).string()),
            first);
  EXPECT_EQ(slurp(path), t.log.substr(0, t.offsets[1]));
}

// When the damaged bytes cannot be copied aside, nothing is cut: the tail stays in the log, and
// later appends still replay (the next replay skips the old tail like any damage).
TEST(FileLogRecovery, NothingIsCutWhenTheCopyCannotBeWritten) {
  const TenRecords t;
  TempDir dir;
  const std::string path = dir.file("pastes.log");
  const std::string log = t.log.substr(0, t.offsets[9] + 100);
  write_all(path, log);
  write_all(dir.file("damaged"), "a file where the directory would go");
  const auto r = recover_log(path, [](std::string_view, std::string_view) {});
  EXPECT_EQ(r.records, 9u);
  EXPECT_EQ(r.truncated_bytes, 0u);
  EXPECT_EQ(r.valid_bytes, log.size());
  ASSERT_EQ(r.damaged.size(), 1u);
  EXPECT_TRUE(r.damaged[0].saved_to.empty());
  EXPECT_FALSE(r.damaged[0].save_error.empty());
  EXPECT_EQ(slurp(path), log);
  const std::string extra = "after an unsaved tail";
  append_bytes(path, encode_log_record(md5_hex(extra), extra));
  std::vector<std::string> want(t.contents.begin(), t.contents.begin() + 9);
  want.push_back(extra);
  EXPECT_EQ(replay(path), names(want));
}
