// Record encoding, CRC32C and crash recovery of the file store's append-only log.
#include "target/file_log.hpp"

#include <fcntl.h>
#include <nmmintrin.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
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
    const std::function<void(std::string_view id, std::string_view content)>& on_record) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + path);
  std::string data;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw std::system_error(err, std::generic_category(), "read " + path);
    }
    if (n == 0) break;
    data.append(buf, static_cast<std::size_t>(n));
  }

  LogRecovery r;
  std::size_t pos = 0;
  while (pos < data.size()) {
    const std::size_t left = data.size() - pos;
    if (left < kLogHeaderBytes) break;  // torn header
    const char* h = data.data() + pos;
    const std::uint32_t len = get_u32(h + 4);
    const bool magic_ok = std::memcmp(h, kMagic, 4) == 0;
    if (!magic_ok || len > kLogMaxContent) break;  // cannot trust the length: stop here
    if (left < kLogHeaderBytes + len) break;       // torn body
    std::string_view id(h + 12, 32);
    std::string_view content(h + kLogHeaderBytes, len);
    if (crc32c(content, crc32c(id)) != get_u32(h + 8)) {
      // The last record damaged is a torn append (the size reached disk, not all the data):
      // truncate it. One in the middle is skipped; the records after it are intact.
      if (left == kLogHeaderBytes + len) break;
      ++r.corrupt_skipped;  // complete but damaged: skip it, the next record is intact
    } else {
      on_record(id, content);
      ++r.records;
    }
    pos += kLogHeaderBytes + len;
  }
  r.valid_bytes = pos;
  r.truncated_bytes = data.size() - pos;
  if (r.truncated_bytes > 0) {
    if (::ftruncate(fd, static_cast<off_t>(pos)) != 0 || ::fsync(fd) != 0) {
      const int err = errno;
      ::close(fd);
      throw std::system_error(err, std::generic_category(), "truncate " + path);
    }
  }
  ::close(fd);
  return r;
}

}  // namespace faultline::target
