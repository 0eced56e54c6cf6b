// Stores without a network: shard choice, store specs, the memory store, and the file store's
// log format and crash recovery (torn tail, corrupt records, restart).
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include "common/co_spawn.hpp"
#include "target/file_log.hpp"
#include "target/solver/solver.hpp"
#include "target/store.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::target;
using faultline::test::TempDir;

namespace {

std::string id_of(const std::string& content) {
  return md5_hex(content);
}

std::uintmax_t file_size(const std::string& path) {
  return std::filesystem::file_size(path);
}

void append_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << bytes;
}

std::unique_ptr<Store> open_file_store(const std::string& dir, TargetMetrics& m,
                                       FsyncPolicy fsync = FsyncPolicy::always) {
  StoreOptions o;
  o.fsync = fsync;
  return make_file_store(dir, o, m);
}

}  // namespace

TEST(StoreSpec, Parses) {
  std::string err;
  auto m = parse_store_spec("memory", err);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, StoreSpec::Kind::memory);
  auto f = parse_store_spec("file:/tmp/x", err);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, StoreSpec::Kind::file);
  EXPECT_EQ(f->dir, "/tmp/x");
  auto r = parse_store_spec("redis://127.0.0.1:6379,redis://localhost:6380", err);
  ASSERT_TRUE(r) << err;
  ASSERT_EQ(r->redis.size(), 2u);
  EXPECT_EQ(r->redis[1].first, "localhost");
  EXPECT_EQ(r->redis[1].second, 6380);
  for (const char* bad : {"", "mem", "file:", "redis://", "redis://host", "redis://h:0",
                          "redis://h:1,", "redis://h:1,h:2", "redis://h:99999"}) {
    err.clear();
    EXPECT_FALSE(parse_store_spec(bad, err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
}

TEST(StoreSpec, ShardFollowsId) {
  EXPECT_EQ(shard_for("00000000" + std::string(24, '0'), 3), 0u);
  EXPECT_EQ(shard_for("00000004" + std::string(24, '0'), 3), 1u);
  EXPECT_EQ(shard_for("ffffffff" + std::string(24, '0'), 2), 1u);
  EXPECT_EQ(shard_for("FFFFFFFF" + std::string(24, '0'), 2), 1u);
  EXPECT_EQ(shard_for("abc", 1), 0u);
  // MD5 ids spread evenly.
  std::vector<int> counts(4, 0);
  for (int i = 0; i < 4000; ++i)
    ++counts[shard_for(id_of(std::to_string(i)), 4)];
  for (int c : counts)
    EXPECT_NEAR(c, 1000, 150);
}

TEST(MemoryStore, PutGet) {
  TargetMetrics m(1, false);
  auto s = make_memory_store(m);
  auto p = s->put_blocking(id_of("a"), "a");
  EXPECT_EQ(p.code, StoreCode::ok);
  EXPECT_TRUE(p.created);
  EXPECT_FALSE(s->put_blocking(id_of("a"), "a").created);
  EXPECT_EQ(s->get_blocking(id_of("a")).content, "a");
  EXPECT_EQ(s->get_blocking(id_of("b")).code, StoreCode::not_found);
}

TEST(FileLog, Crc32cKnownValues) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);  // the CRC-32C check value
  EXPECT_EQ(crc32c(""), 0u);
  // Incremental equals one-shot, on lengths that exercise both the 8-byte and 1-byte loops.
  std::string data(1000, '\0');
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>(i * 7);
  EXPECT_EQ(crc32c(data.substr(13), crc32c(data.substr(0, 13))), crc32c(data));
}

TEST(FileLog, TornTailIsTruncated) {
  TempDir dir;
  const std::string path = dir.file("pastes.log");
  const std::string a = encode_log_record(id_of("a"), "a");
  const std::string b = encode_log_record(id_of("bb"), "bb");
  append_bytes(path, a + b);
  for (std::size_t cut = 1; cut < b.size(); ++cut) {
    std::filesystem::resize_file(path, a.size() + cut);  // crash in the middle of appending b
    std::vector<std::string> seen;
    auto r = recover_log(path, [&](std::string_view, std::string_view c) { seen.emplace_back(c); });
    ASSERT_EQ(seen, std::vector<std::string>{"a"}) << "cut " << cut;
    EXPECT_EQ(r.truncated_bytes, cut);
    EXPECT_EQ(file_size(path), a.size());
    append_bytes(path, b);
  }
}

TEST(FileLog, CorruptRecordInTheMiddleIsSkipped) {
  TempDir dir;
  const std::string path = dir.file("pastes.log");
  std::string a = encode_log_record(id_of("a"), "aaaa");
  const std::string b = encode_log_record(id_of("b"), "b");
  a[kLogHeaderBytes + 1] ^= 0x40;  // bit rot in a's content
  append_bytes(path, a + b);
  std::vector<std::string> seen;
  auto r = recover_log(path, [&](std::string_view, std::string_view c) { seen.emplace_back(c); });
  EXPECT_EQ(seen, std::vector<std::string>{"b"});
  EXPECT_EQ(r.corrupt_skipped, 1u);
  EXPECT_EQ(r.truncated_bytes, 0u);
}

TEST(FileLog, CorruptLastRecordAndGarbageAreCutOff) {
  TempDir dir;
  const std::string path = dir.file("pastes.log");
  const std::string a = encode_log_record(id_of("a"), "a");
  std::string b = encode_log_record(id_of("b"), "b");
  b.back() ^= 1;  // the size made it to disk, the data did not
  append_bytes(path, a + b);
  auto r = recover_log(path, [](std::string_view, std::string_view) {});
  EXPECT_EQ(r.records, 1u);
  EXPECT_EQ(r.truncated_bytes, b.size());
  append_bytes(path, "GARBAGE-GARBAGE-GARBAGE-GARBAGE-GARBAGE-GARBAGE");
  r = recover_log(path, [](std::string_view, std::string_view) {});
  EXPECT_EQ(r.records, 1u);
  EXPECT_EQ(file_size(path), a.size());
}

TEST(FileStore, SurvivesRestartAndTornTail) {
  TempDir dir;
  const std::string path = dir.file("pastes.log");
  {
    TargetMetrics m(1, false);
    auto s = open_file_store(dir.path().string(), m);
    for (int i = 0; i < 50; ++i) {
      const std::string c = "paste " + std::to_string(i);
      auto p = s->put_blocking(id_of(c), c);
      ASSERT_EQ(p.code, StoreCode::ok) << p.message;
      EXPECT_TRUE(p.created);
    }
    EXPECT_FALSE(s->put_blocking(id_of("paste 3"), "paste 3").created);
  }
  const auto good = file_size(path);
  append_bytes(path, encode_log_record(id_of("torn"), "torn write").substr(0, 20));
  TargetMetrics m(1, false);
  auto s = open_file_store(dir.path().string(), m);
  for (int i = 0; i < 50; ++i) {
    const std::string c = "paste " + std::to_string(i);
    auto g = s->get_blocking(id_of(c));
    ASSERT_EQ(g.code, StoreCode::ok) << i;
    EXPECT_EQ(g.content, c);
  }
  EXPECT_EQ(s->get_blocking(id_of("torn write")).code, StoreCode::not_found);
  EXPECT_EQ(file_size(path), good);
  // Appends after recovery land after the last good record.
  ASSERT_TRUE(s->put_blocking(id_of("after"), "after").created);
  s->close();
  TargetMetrics m2(1, false);
  auto again = open_file_store(dir.path().string(), m2);
  EXPECT_EQ(again->get_blocking(id_of("after")).content, "after");
}

TEST(FileStore, ConcurrentAsyncPutsAreGroupCommitted) {
  TempDir dir;
  TargetMetrics m(1, false);
  auto s = open_file_store(dir.path().string(), m, FsyncPolicy::interval);
  asio::io_context ioc;
  std::vector<std::future<PutOutcome>> puts;
  for (int i = 0; i < 200; ++i) {
    const std::string c = "async " + std::to_string(i % 150);  // 50 duplicates
    puts.push_back(asio::co_spawn(ioc, s->put(id_of(c), c), asio::use_future));
  }
  ioc.run();
  int created = 0;
  for (auto& f : puts) {
    auto p = f.get();
    ASSERT_EQ(p.code, StoreCode::ok);
    created += p.created ? 1 : 0;
  }
  EXPECT_EQ(created, 150);
  s->close();
  TargetMetrics m2(1, false);
  auto again = open_file_store(dir.path().string(), m2);
  for (int i = 0; i < 150; ++i) {
    const std::string c = "async " + std::to_string(i);
    EXPECT_EQ(again->get_blocking(id_of(c)).content, c);
  }
}

TEST(FileStore, SecondProcessOnTheSameDirectoryIsRefused) {
  TempDir dir;
  TargetMetrics m(1, false);
  auto s = open_file_store(dir.path().string(), m);
  EXPECT_THROW(open_file_store(dir.path().string(), m), std::runtime_error);
}

// Issue 12: a damaged header in the middle used to truncate every later record for good.
TEST(FileStore, DamagedRecordLosesOnlyItselfAcrossRestarts) {
  TempDir dir;
  const std::string path = dir.file("pastes.log");
  std::vector<std::string> contents;
  {
    TargetMetrics m(1, false);
    auto s = open_file_store(dir.path().string(), m);
    for (int i = 0; i < 10; ++i) {
      contents.push_back("paste number " + std::to_string(i));
      ASSERT_EQ(s->put_blocking(id_of(contents.back()), contents.back()).code, StoreCode::ok);
    }
  }
  std::string log;
  {
    std::ifstream in(path, std::ios::binary);
    log.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::size_t fourth = 3 * (kLogHeaderBytes + contents[0].size());
  ASSERT_EQ(log.compare(fourth, 4, "FLP1"), 0);
  log[fourth] = 'X';
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << log;
  }
  for (int restart = 0; restart < 2; ++restart) {
    TargetMetrics m(1, false);
    auto s = open_file_store(dir.path().string(), m);
    for (int i = 0; i < 10; ++i) {
      EXPECT_EQ(s->get_blocking(id_of(contents[static_cast<std::size_t>(i)])).code,
                i == 3 ? StoreCode::not_found : StoreCode::ok)
          << "restart " << restart << " paste " << i;
    }
    EXPECT_EQ(file_size(path), log.size() + (restart == 0 ? 0 : kLogHeaderBytes + 5));
    if (restart == 0) {
      ASSERT_TRUE(s->put_blocking(id_of("after"), "after").created);
    }
    EXPECT_EQ(s->get_blocking(id_of("after")).code, StoreCode::ok);
  }
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "damaged"));
}

// Issue 12: the store refuses (does not acknowledge) content above its cap, and replays every
// size it acknowledged.
TEST(FileStore, RefusesContentAboveItsCapAndReplaysEverySizeItAcknowledged) {
  TempDir dir;
  const std::string path = dir.file("pastes.log");
  StoreOptions o;
  o.max_content_bytes = 100;
  const std::string largest(100, 'x');
  const std::string too_large(101, 'y');
  {
    TargetMetrics m(1, false);
    auto s = make_file_store(dir.path().string(), o, m);
    EXPECT_EQ(s->put_blocking(id_of(largest), largest).code, StoreCode::ok);
    const auto size = file_size(path);
    const PutOutcome p = s->put_blocking(id_of(too_large), too_large);
    EXPECT_EQ(p.code, StoreCode::failed);
    EXPECT_NE(p.message.find("100"), std::string::npos) << p.message;
    EXPECT_EQ(file_size(path), size);
  }
  TargetMetrics m(1, false);
  auto s = make_file_store(dir.path().string(), o, m);
  EXPECT_EQ(s->get_blocking(id_of(largest)).content, largest);
  EXPECT_EQ(s->get_blocking(id_of(too_large)).code, StoreCode::not_found);
}
