// Small file-system rules every component shares: writing an output so that no reader ever sees
// half of it and no planted link redirects it, trimming text, and the path of this executable.
#pragma once

#include <string>
#include <string_view>
#include <vector>

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

// Makes `dir` an empty directory for a command's outputs, so results of two runs never mix: a
// missing directory is created (with its parents), an empty one is used as it is. A non-empty one
// is emptied only when `overwrite` is set AND it holds one of `markers` (files only this command
// writes, so a mistyped `--out ~` or `--out /etc` is never emptied); otherwise it is refused.
// Returns "" when `dir` is ready, else a sentence saying why not (nothing was changed then).
std::string claim_output_dir(const std::string& dir, bool overwrite,
                             const std::vector<std::string>& markers);

}  // namespace faultline
