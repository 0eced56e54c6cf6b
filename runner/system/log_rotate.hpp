// Size-capped rotation of the components' log files (target, proxy, load generator, Redis, user
// processes), so a 24-hour soak cannot fill the disk with logs. Copytruncate style: the children
// keep their file descriptor (opened with O_APPEND by common/subprocess.cpp), so the file is copied
// aside and truncated in place instead of renamed; an O_APPEND writer's next write lands at the
// new end (offset 0), leaving no sparse hole.
//
// The one loss: lines a child writes after the copy has read the end of the file and before the
// truncation are gone (a window of microseconds, once per rotation). A writer without O_APPEND
// would keep writing at its old offset and leave a hole of NULs; do not rotate such files.
#pragma once

#include <cstdint>
#include <string>

namespace faultline::runner {

// When `path` is larger than `max_bytes`: PATH.(keep-1) -> PATH.keep, ..., PATH.1 -> PATH.2 (the
// oldest, PATH.keep, is replaced), PATH is copied to PATH.1 and truncated to 0. keep <= 0 only
// truncates. A missing file or one within the cap is left alone. Never throws and logs nothing:
// returns an empty string on success (or nothing to do), else what failed.
std::string rotate_if_larger(const std::string& path, std::uint64_t max_bytes, int keep) noexcept;

}  // namespace faultline::runner
