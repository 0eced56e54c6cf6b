// See files.hpp.
#include "common/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace faultline {

namespace fs = std::filesystem;

void write_file_atomically(const std::string& path, std::string_view text) {
  // A name nobody can have prepared: O_EXCL refuses an existing file or link of that name.
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
    tmp = fmt::format("{}.{:x}.tmp", path, rng());
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST)
      throw std::runtime_error(fmt::format("cannot write {}: {}", tmp, std::strerror(errno)));
  }
  if (fd < 0) throw std::runtime_error(fmt::format("cannot create a temporary file for {}", path));
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      throw std::runtime_error(fmt::format("cannot write {}: {}", tmp, why));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw std::runtime_error(fmt::format("cannot write {}", tmp));
  }
  // rename() replaces a symlink at `path` itself, never its target.
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw std::runtime_error(fmt::format("cannot rename {} to {}: {}", tmp, path, why));
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

std::string self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("faultline") : p.string();
}

std::string claim_output_dir(const std::string& dir, bool overwrite,
                             const std::vector<std::string>& markers) {
  std::error_code ec;
  const fs::path d(dir);
  const auto st = fs::symlink_status(d, ec);
  if (ec || !fs::exists(st)) {
    fs::create_directories(d, ec);
    return ec ? fmt::format("cannot create {}: {}", dir, ec.message()) : "";
  }
  if (!fs::is_directory(fs::status(d, ec)))
    return fmt::format("{} exists and is not a directory", dir);
  if (fs::is_empty(d, ec) && !ec) return "";
  if (ec) return fmt::format("cannot read {}: {}", dir, ec.message());
  bool marked = false;
  for (const auto& m : markers)
    if (fs::is_regular_file(fs::symlink_status(d / m, ec))) marked = true;
  if (!overwrite)
    return fmt::format(
        "{} is not empty{}: give another directory, or add --overwrite to empty it first", dir,
        marked ? " (it holds an earlier run)" : "");
  if (!marked)
    return fmt::format(
        "{} is not empty and holds no earlier output of this command (none of {}): "
        "refusing to empty it, even with --overwrite",
        dir, fmt::join(markers, ", "));
  for (const auto& e : fs::directory_iterator(d, ec)) {
    fs::remove_all(e.path(), ec);
    if (ec) return fmt::format("cannot empty {}: {}: {}", dir, e.path().string(), ec.message());
  }
  return ec ? fmt::format("cannot empty {}: {}", dir, ec.message()) : "";
}

}  // namespace faultline
