// Record encoding, CRC32C and crash recovery of the file store's append-only log.
#include "target/file_log.hpp"

#include <fcntl.h>
#include <nmmintrin.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace faultline::target {

namespace {

constexpr char kMagic[4] = {'F', 'L', 'P', '1'};

std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}

std::uint32_t crc32c_table(const unsigned char* p, std::size_t n, std::uint32_t crc) {
  static const auto table = make_table();
  for (std::size_t i = 0; i < n; ++i)
    crc = table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
  return crc;
}

__attribute__((target("sse4.2"))) std::uint32_t crc32c_hw(const unsigned char* p, std::size_t n,
                                                          std::uint32_t crc) {
  std::uint64_t c = crc;
  while (n >= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c);
  while (n > 0) {
    c32 = _mm_crc32_u8(c32, *p++);
    --n;
  }
  return c32;
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
}

std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Reads `fd` to its end; false with the read's errno in `err`.
bool read_all(int fd, std::string& data, int& err) {
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      return false;
    }
    if (n == 0) return true;
    data.append(buf, static_cast<std::size_t>(n));
  }
}

// Size of the valid record starting at `pos` (magic, a length that fits, CRC), or 0.
std::size_t valid_record_at(std::string_view data, std::size_t pos) {
  const std::size_t left = data.size() - pos;
  if (left < kLogHeaderBytes) return 0;
  const char* h = data.data() + pos;
  if (std::memcmp(h, kMagic, 4) != 0) return 0;
  const std::uint32_t len = get_u32(h + 4);
  if (len > left - kLogHeaderBytes) return 0;
  const std::string_view id(h + 12, 32);
  const std::string_view content(h + kLogHeaderBytes, len);
  if (crc32c(content, crc32c(id)) != get_u32(h + 8)) return 0;
  return kLogHeaderBytes + len;
}

// The first offset at or after `from` where a valid record starts, or data.size().
std::size_t next_valid_record(std::string_view data, std::size_t from) {
  const std::string_view magic(kMagic, 4);
  for (std::size_t at = data.find(magic, from); at != std::string_view::npos;
       at = data.find(magic, at + 1)) {
    if (valid_record_at(data, at) > 0) return at;
  }
  return data.size();
}

bool write_file_synced(const std::string& path, std::string_view bytes, std::string& error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "open " + path + ": " + std::strerror(errno);
    return false;
  }
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = "write " + path + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    error = "fsync " + path + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  ::close(fd);
  return true;
}

void fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// Copies `bytes` (the region at `region.offset`) to DIR/<offset>-<length>.bin, durably, unless an
// identical copy is already there (a region in the middle is met again on every restart). A
// different file of that name (a region cut earlier, then re-grown by appends) gets a "-N" suffix.
void save_region(const std::string& dir, std::string_view bytes, DamagedRegion& region) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    region.save_error = "create " + dir + ": " + ec.message();
    return;
  }
  const std::string base = (std::filesystem::path(dir) /
                            (std::to_string(region.offset) + "-" + std::to_string(region.length)))
                               .string();
  for (unsigned n = 0; n < 1000; ++n) {
    std::string name = base;
    if (n > 0) name.append("-").append(std::to_string(n));
    name.append(".bin");
    if (std::filesystem::exists(name, ec)) {
      std::string existing;
      const int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
      int ignored = 0;
      const bool same = fd >= 0 && read_all(fd, existing, ignored) && existing == bytes;
      if (fd >= 0) ::close(fd);
      if (same) {
        region.saved_to = name;
        return;
      }
      continue;
    }
    const std::string tmp = name + ".tmp";
    if (!write_file_synced(tmp, bytes, region.save_error)) return;
    if (::rename(tmp.c_str(), name.c_str()) != 0) {
      region.save_error = "rename " + tmp + ": " + std::strerror(errno);
      return;
    }
    fsync_dir(dir);
    region.saved_to = name;
    return;
  }
  region.save_error = "too many copies named " + base + "-N.bin";
}

}  // namespace

std::uint32_t crc32c(std::string_view data, std::uint32_t crc) {
  static const bool hw = __builtin_cpu_supports("sse4.2");
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  crc = ~crc;
  crc = hw ? crc32c_hw(p, data.size(), crc) : crc32c_table(p, data.size(), crc);
  return ~crc;
}

std::string encode_log_record(std::string_view id, std::string_view content) {
  std::string out;
  out.reserve(kLogHeaderBytes + content.size());
  out.append(kMagic, 4);
  put_u32(out, static_cast<std::uint32_t>(content.size()));
  put_u32(out, crc32c(content, crc32c(id)));
  out.append(id);
  out.append(content);
  return out;
}

LogRecovery recover_log(
    const std::string& path,
    const std::function<void(std::string_view id, std::string_view content)>& on_record,
    const std::string& damaged_dir) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + path);
  std::string data;
  if (int err = 0; !read_all(fd, data, err)) {
    ::close(fd);
    throw std::system_error(err, std::generic_category(), "read " + path);
  }
  const std::string dir = damaged_dir.empty()
                              ? (std::filesystem::path(path).parent_path() / "damaged").string()
                              : damaged_dir;

  LogRecovery r;
  std::size_t pos = 0;
  while (pos < data.size()) {
    if (const std::size_t n = valid_record_at(data, pos); n > 0) {
      on_record(std::string_view(data).substr(pos + 12, 32),
                std::string_view(data).substr(pos + kLogHeaderBytes, n - kLogHeaderBytes));
      ++r.records;
      pos += n;
      continue;
    }
    // Damage (or a torn append): skip to the next valid record, keeping a copy of what is skipped.
    const std::size_t next = next_valid_record(data, pos + 1);
    DamagedRegion region;
    region.offset = pos;
    region.length = next - pos;
    region.tail = next == data.size();
    save_region(dir, std::string_view(data).substr(pos, next - pos), region);
    if (!region.tail) ++r.corrupt_skipped;
    r.damaged.push_back(std::move(region));
    pos = next;
  }

  // Cut a damaged tail (appends continue after the last valid record), but only once its bytes
  // are safely copied aside; otherwise leave it: the next replay skips it like any damage.
  r.valid_bytes = data.size();
  if (!r.damaged.empty() && r.damaged.back().tail && !r.damaged.back().saved_to.empty()) {
    r.valid_bytes = r.damaged.back().offset;
    r.truncated_bytes = r.damaged.back().length;
    if (::ftruncate(fd, static_cast<off_t>(r.valid_bytes)) != 0 || ::fsync(fd) != 0) {
      const int err = errno;
      ::close(fd);
      throw std::system_error(err, std::generic_category(), "truncate " + path);
    }
  }
  ::close(fd);
  return r;
}

}  // namespace faultline::target
