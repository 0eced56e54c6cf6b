// The on-disk format of `--store file:DIR` (DIR/pastes.log), exposed for the recovery tests.
//
// The log is a sequence of records, appended only:
//   magic "FLP1" (4 bytes) | content length (u32 LE) | CRC32C of id+content (u32 LE) |
//   id (32 ASCII hex bytes) | content (length bytes)
// Recovery never deletes intact data. It reads records in order; a record is valid when its magic
// matches, its length fits in the file and its CRC checks out. Anywhere else it resynchronises:
// it scans forward to the next offset where a valid record starts, and the bytes in between are a
// damaged region. Every damaged region is first copied to DIR/damaged/<offset>-<length>.bin
// (fsynced), then skipped; one in the middle stays in the log (later restarts skip it again), one
// at the end (a torn append after a crash, or damage with no valid record after it) is cut off so
// appends continue after the last valid record. If a copy cannot be written, nothing is cut.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::target {

inline constexpr std::size_t kLogHeaderBytes = 4 + 4 + 4 + 32;
// The largest content the format can hold (its length field is 32 bits). Replay accepts every
// valid record up to this size; stores refuse larger content at write time (see
// StoreOptions::max_content_bytes), so nothing acknowledged is ever taken for corruption.
inline constexpr std::uint64_t kLogFormatMaxContent = 0xFFFFFFFFu;

// CRC32C (Castagnoli), SSE4.2 instruction when the CPU has it, table otherwise.
std::uint32_t crc32c(std::string_view data, std::uint32_t crc = 0);

// One encoded record (id must be 32 bytes).
std::string encode_log_record(std::string_view id, std::string_view content);

// Bytes of the log that are not valid records.
struct DamagedRegion {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  bool tail = false;       // at the end of the log: cut off (when saved_to is set)
  std::string saved_to;    // the copy of the bytes; empty when it could not be written
  std::string save_error;  // why, when saved_to is empty
};

struct LogRecovery {
  std::size_t records = 0;             // valid records read
  std::size_t corrupt_skipped = 0;     // damaged regions in the middle, skipped (left in place)
  std::uint64_t valid_bytes = 0;       // where the log now ends (appends go here)
  std::uint64_t truncated_bytes = 0;   // damaged tail removed (after saving it)
  std::vector<DamagedRegion> damaged;  // every region skipped or cut, in log order
};

// Reads the log at `path` (which must exist), calls `on_record` for every valid record in order,
// saves every damaged region under `damaged_dir` (default: "damaged" next to the log) and cuts a
// damaged tail. Throws std::system_error on I/O errors reading or truncating the log.
LogRecovery recover_log(
    const std::string& path,
    const std::function<void(std::string_view id, std::string_view content)>& on_record,
    const std::string& damaged_dir = {});

}  // namespace faultline::target
