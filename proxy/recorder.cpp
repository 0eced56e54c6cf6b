// JSON-lines recording of HTTP exchanges (see recorder.hpp).
#include "proxy/recorder.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "common/config.hpp"

namespace faultline::proxy {

Recorder::Recorder(const std::string& file) {
  // O_NONBLOCK: opening a FIFO for writing would otherwise wait for a reader, on the control loop;
  // and only a regular file is recorded into (parse_proxy refuses others first, this is the guard).
  const int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open " + file);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw std::system_error(EINVAL, std::generic_category(),
                            "cannot record into " + file + ": not a regular file");
  }
  file_ = ::fdopen(fd, "a");
  if (!file_) {
    const int saved = errno;
    ::close(fd);
    throw std::system_error(saved, std::generic_category(), "cannot open " + file);
  }
}

Recorder::~Recorder() {
  if (file_) std::fclose(file_);
}

void Recorder::record(const RecordedExchange& e) {
  json headers = json::array();
  for (const auto& [k, v] : e.headers)
    headers.push_back(
        json::array({valid_utf8(k) ? k : base64_encode(k), valid_utf8(v) ? v : base64_encode(v)}));
  json line{{"ts", std::chrono::duration<double>(e.started - start_).count()},
            {"method", e.method},
            {"target", valid_utf8(e.target) ? e.target : base64_encode(e.target)},
            {"headers", std::move(headers)}};
  if (valid_utf8(e.body))
    line["body"] = e.body;
  else
    line["body_base64"] = base64_encode(e.body);
  line["status"] = e.status;
  line["latency_seconds"] = e.latency_seconds;
  std::string text = line.dump() + "\n";
  std::lock_guard lock(mu_);
  std::fwrite(text.data(), 1, text.size(), file_);
  std::fflush(file_);
}

bool valid_utf8(const std::string& s) {
  std::size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  while (i < s.size()) {
    const unsigned c = p[i];
    std::size_t n;
    std::uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (std::size_t k = 1; k <= n; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and values above U+10FFFF are not UTF-8.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return false;
    i += n + 1;
  }
  return true;
}

std::string base64_encode(const std::string& s) {
  static constexpr char kTable[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((s.size() + 2) / 3 * 4);
  std::size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (; i + 2 < s.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8) | p[i + 2];
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += kTable[v & 63];
  }
  if (i < s.size()) {
    std::uint32_t v = std::uint32_t{p[i]} << 16;
    if (i + 1 < s.size()) v |= std::uint32_t{p[i + 1]} << 8;
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += i + 1 < s.size() ? kTable[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace faultline::proxy
