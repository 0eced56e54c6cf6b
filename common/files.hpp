// Small file-system rules every component shares: writing an output so that no reader ever sees
// half of it and no planted link redirects it, trimming text, and the path of this executable.
#pragma once

#include <string>
#include <string_view>

namespace faultline {

// Writes `text` to `path` through a new temporary file in the same directory (created with
// O_CREAT|O_EXCL|O_NOFOLLOW, so a planted symlink or file named like it is never followed or
// truncated), flushed and then rename()d over `path`: a reader sees the old file or the new one.
// Throws std::runtime_error naming the file.
void write_file_atomically(const std::string& path, std::string_view text);

// `s` without leading and trailing ASCII whitespace.
std::string_view trim(std::string_view s);

// The absolute path of the running executable (/proc/self/exe), or "faultline" when unreadable.
std::string self_exe();

}  // namespace faultline
