// Log rotation (see log_rotate.hpp).
#include "runner/system/log_rotate.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace faultline::runner {

namespace {

// Call right after the failing system call: errno is read before any allocation can touch it.
std::string failure(const std::string& what, const std::string& path) {
  const int err = errno;
  return what + " " + path + ": " + std::strerror(err);
}

// RAII for a file descriptor.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

// Copies src to dst (created or replaced). Reads until end of file, but at most `limit` bytes, so
// a child writing faster than we copy cannot keep us here forever.
std::string copy_file(const std::string& src, const std::string& dst, std::uint64_t limit) {
  Fd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.fd < 0) return failure("cannot open", src);
  Fd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (out.fd < 0) return failure("cannot create", dst);
  char buf[1 << 16];
  std::uint64_t copied = 0;
  while (copied < limit) {
    const ssize_t n = ::read(in.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failure("cannot read", src);
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      const ssize_t w = ::write(out.fd, buf + off, static_cast<std::size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return failure("cannot write", dst);
      off += w;
    }
    copied += static_cast<std::uint64_t>(n);
  }
  return {};
}

}  // namespace

std::string rotate_if_larger(const std::string& path, std::uint64_t max_bytes, int keep) noexcept {
  try {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return {};
      return failure("cannot stat", path);
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size <= max_bytes) return {};
    if (keep > 0) {
      // Shift the older copies up by one; rename replaces the oldest (PATH.keep) atomically.
      for (int i = keep - 1; i >= 1; --i) {
        const std::string from = path + "." + std::to_string(i);
        const std::string to = path + "." + std::to_string(i + 1);
        if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT)
          return failure("cannot rename", from);
      }
      // Copy into a temporary name first so PATH.1 is never a half-written file.
      const std::string tmp = path + ".1.tmp";
      if (auto err = copy_file(path, tmp, size + max_bytes); !err.empty()) {
        ::unlink(tmp.c_str());
        return err;
      }
      // Only truncate once the copy is in place: a failed rename must not lose the log. This
      // widens the window in which lines are lost by one rename (microseconds).
      const std::string first = path + ".1";
      if (::rename(tmp.c_str(), first.c_str()) != 0) {
        std::string err = failure("cannot rename", tmp);
        ::unlink(tmp.c_str());
        return err;
      }
    }
    if (::truncate(path.c_str(), 0) != 0) return failure("cannot truncate", path);
    return {};
  } catch (...) {
    // Only std::bad_alloc from building the names can get here; 13 characters fit in the
    // string's inline buffer, so this return cannot allocate (and throw) again.
    return "out of memory";
  }
}

}  // namespace faultline::runner
