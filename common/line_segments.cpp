// Rolling, gzip-compressed line streams and their readers (see line_segments.hpp).
#include "common/line_segments.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace faultline {

namespace fs = std::filesystem;

namespace {

fs::path segment_path(const std::string& path, std::uint32_t n) {
  return fs::path(fmt::format("{}.{:04d}", path, n));
}

fs::path gz_of(const fs::path& p) {
  return fs::path(p.string() + ".gz");
}

}  // namespace

bool gzip_file(const fs::path& from, const fs::path& to, std::string& error) {
  const fs::path tmp = fs::path(to.string() + ".tmp");
  std::ifstream in(from, std::ios::binary);
  if (!in) {
    error = fmt::format("cannot read {}: {}", from.string(), std::strerror(errno));
    return false;
  }
  gzFile gz = gzopen(tmp.c_str(), "wb6");
  if (gz == nullptr) {
    error = fmt::format("cannot write {}: {}", tmp.string(), std::strerror(errno));
    return false;
  }
  std::vector<char> buf(1 << 16);
  bool ok = true;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<unsigned>(in.gcount());
    if (n > 0 && gzwrite(gz, buf.data(), n) != static_cast<int>(n)) {
      int code = 0;
      error = fmt::format("cannot write {}: {}", tmp.string(), gzerror(gz, &code));
      ok = false;
      break;
    }
  }
  if (gzclose(gz) != Z_OK && ok) {
    error = fmt::format("cannot write {}: the disk may be full", tmp.string());
    ok = false;
  }
  std::error_code ec;
  if (ok) {
    fs::rename(tmp, to, ec);
    if (ec) {
      error = fmt::format("cannot rename {}: {}", tmp.string(), ec.message());
      ok = false;
    }
  }
  if (!ok) fs::remove(tmp, ec);
  return ok;
}

RollingLineWriter::~RollingLineWriter() {
  finish();
}

bool RollingLineWriter::open(const std::string& path, std::string& error) {
  finish();
  path_ = path;
  next_ = 1;
  // Segments of an earlier stream at the same path would be read as this one's.
  std::error_code ec;
  for (std::uint32_t n = 1;; ++n) {
    const fs::path seg = segment_path(path, n);
    const bool plain = fs::remove(seg, ec);
    const bool gz = fs::remove(gz_of(seg), ec);
    fs::remove(fs::path(gz_of(seg).string() + ".tmp"), ec);
    if (!plain && !gz) break;
  }
  out_.open(path, std::ios::trunc);
  if (!out_) {
    error = fmt::format("cannot write {}: {}", path, std::strerror(errno));
    return false;
  }
  return true;
}

bool RollingLineWriter::write(const std::string& line) {
  out_ << line << '\n' << std::flush;
  return static_cast<bool>(out_);
}

bool RollingLineWriter::roll(std::string& error) {
  const fs::path seg = segment_path(path_, next_);
  out_.close();
  std::error_code ec;
  fs::rename(path_, seg, ec);
  if (ec) {
    error = fmt::format("cannot rename {} to {}: {}", path_, seg.string(), ec.message());
    out_.open(path_, std::ios::app);
    return false;
  }
  out_.open(path_, std::ios::trunc);
  if (!out_) {
    // Go on in the renamed file rather than lose lines; it is read as the last segment.
    error = fmt::format("cannot write {}: {}", path_, std::strerror(errno));
    fs::rename(seg, path_, ec);
    out_.open(path_, std::ios::app);
    return false;
  }
  ++next_;
  finish();  // one compression at a time
  try {
    compressor_ = std::thread([seg] {
      std::string err;
      std::error_code rm;
      if (gzip_file(seg, gz_of(seg), err))
        fs::remove(seg, rm);
      else
        spdlog::warn("{} stays uncompressed: {}", seg.string(), err);
    });
  } catch (const std::system_error& e) {
    spdlog::warn("{} stays uncompressed: cannot start a thread: {}", seg.string(), e.what());
  }
  return true;
}

void RollingLineWriter::finish() {
  if (compressor_.joinable()) compressor_.join();
}

std::vector<fs::path> rolled_segments(const std::string& path) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (std::uint32_t n = 1;; ++n) {
    const fs::path seg = segment_path(path, n);
    if (fs::exists(gz_of(seg), ec))
      out.push_back(gz_of(seg));
    else if (fs::exists(seg, ec))
      out.push_back(seg);
    else
      break;
  }
  return out;
}

bool for_each_line(const std::string& path, const std::function<void(const std::string&)>& fn,
                   std::string& error) {
  std::vector<fs::path> files = rolled_segments(path);
  std::error_code ec;
  if (fs::exists(path, ec)) files.emplace_back(path);
  std::vector<char> buf(1 << 16);
  for (const auto& f : files) {
    // gzread reads a file that is not gzip as it is.
    gzFile gz = gzopen(f.c_str(), "rb");
    if (gz == nullptr) {
      error = fmt::format("cannot read {}: {}", f.string(), std::strerror(errno));
      return false;
    }
    std::string pending;
    bool ok = true;
    for (;;) {
      const int n = gzread(gz, buf.data(), static_cast<unsigned>(buf.size()));
      if (n < 0) {
        int code = 0;
        error = fmt::format("cannot read {}: {}", f.string(), gzerror(gz, &code));
        ok = false;
        break;
      }
      if (n == 0) break;
      pending.append(buf.data(), static_cast<std::size_t>(n));
      std::size_t start = 0, nl;
      while ((nl = pending.find('\n', start)) != std::string::npos) {
        fn(pending.substr(start, nl - start));
        start = nl + 1;
      }
      pending.erase(0, start);
    }
    gzclose(gz);
    if (!pending.empty()) fn(pending);
    if (!ok) return false;
  }
  return true;
}

LineTail::~LineTail() {
  if (fd_ >= 0) ::close(fd_);
}

void LineTail::drain(std::vector<std::string>& out) {
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) break;
    pending_.append(buf, static_cast<std::size_t>(n));
  }
  std::size_t start = 0, nl;
  while ((nl = pending_.find('\n', start)) != std::string::npos) {
    out.push_back(pending_.substr(start, nl - start));
    start = nl + 1;
  }
  pending_.erase(0, start);
}

std::vector<std::string> LineTail::read() {
  std::vector<std::string> out;
  if (fd_ < 0) fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return out;
  drain(out);
  // Rolled away? The writer renames only after its last write to the old file, so once PATH is
  // another file, one more read of the old one has everything.
  struct stat now_at_path {};
  struct stat ours {};
  if (::stat(path_.c_str(), &now_at_path) == 0 && ::fstat(fd_, &ours) == 0 &&
      (now_at_path.st_ino != ours.st_ino || now_at_path.st_dev != ours.st_dev)) {
    drain(out);
    pending_.clear();  // a torn line at the end of a closed segment is never completed
    ::close(fd_);
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ >= 0) drain(out);
  }
  return out;
}

}  // namespace faultline
