// Fuzz target: the file store's log recovery (target/file_log.hpp). The bytes are written as
// DIR/pastes.log in a fresh temporary directory and recovered; a mix of encoded valid records
// around the damage is what the seeds hold. Afterwards the log must end where recovery said, and
// a second recovery must find exactly the same records and no damage (it is idempotent).
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "target/file_log.hpp"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  char tmpl[] = "/tmp/faultline-fuzz-log-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 0;
  const fs::path dir = tmpl;
  const std::string log = (dir / "pastes.log").string();
  {
    std::ofstream out(log, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  std::size_t seen = 0;
  const auto first =
      faultline::target::recover_log(log, [&](std::string_view id, std::string_view) {
        if (id.size() != 32) __builtin_trap();
        ++seen;
      });
  if (seen != first.records) __builtin_trap();
  if (fs::file_size(log) != first.valid_bytes) __builtin_trap();
  const auto second =
      faultline::target::recover_log(log, [](std::string_view, std::string_view) {});
  if (second.records != first.records || second.valid_bytes != first.valid_bytes ||
      second.truncated_bytes != 0)
    __builtin_trap();
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
