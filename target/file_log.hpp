// The on-disk format of `--store file:DIR` (DIR/pastes.log), exposed for the recovery tests.
//
// The log is a sequence of records, appended only:
//   magic "FLP1" (4 bytes) | content length (u32 LE) | CRC32C of id+content (u32 LE) |
//   id (32 ASCII hex bytes) | content (length bytes)
// Recovery reads records in order. A record whose header or body runs past the end of the file is
// a torn write (crash mid-append): the file is truncated there. A complete record whose magic or
// checksum does not match is corrupt: if its length is plausible and it fits in the file it is
// skipped and reading goes on, otherwise the file is truncated at its start.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace faultline::target {

inline constexpr std::size_t kLogHeaderBytes = 4 + 4 + 4 + 32;
inline constexpr std::uint32_t kLogMaxContent = 1u << 30;  // a larger length is corruption

// CRC32C (Castagnoli), SSE4.2 instruction when the CPU has it, table otherwise.
std::uint32_t crc32c(std::string_view data, std::uint32_t crc = 0);

// One encoded record (id must be 32 bytes).
std::string encode_log_record(std::string_view id, std::string_view content);

struct LogRecovery {
  std::size_t records = 0;            // valid records read
  std::size_t corrupt_skipped = 0;    // complete records with a bad magic/checksum, skipped
  std::uint64_t valid_bytes = 0;      // where the log now ends (the file is truncated to this)
  std::uint64_t truncated_bytes = 0;  // torn/corrupt tail removed
};

// Reads the log at `path` (which must exist), calls `on_record` for every valid record in order,
// and truncates a torn or corrupt tail. Throws std::system_error on I/O errors.
LogRecovery recover_log(
    const std::string& path,
    const std::function<void(std::string_view id, std::string_view content)>& on_record);

}  // namespace faultline::target
