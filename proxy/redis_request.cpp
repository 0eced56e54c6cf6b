// See redis_request.hpp. The branches follow redis-server's networking.c in order, including its
// quirks: the two bytes after a bulk are skipped unchecked, "*0" and "*-1" are ignored, a line is
// ended by '\r' plus any byte.
#include "proxy/redis_request.hpp"

#include <climits>
#include <cstring>

namespace faultline::proxy {

namespace {

// Redis's string2ll: optional '-', no '+', no leading zeros, no spaces, no overflow.
bool string2ll(const char* s, std::size_t len, long long& out) {
  if (len == 0) return false;
  if (len == 1 && s[0] == '0') {
    out = 0;
    return true;
  }
  std::size_t i = 0;
  bool negative = false;
  if (s[0] == '-') {
    negative = true;
    if (++i == len) return false;
  }
  if (s[i] < '1' || s[i] > '9') return false;
  unsigned long long v = 0;
  for (; i < len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    const auto d = static_cast<unsigned long long>(s[i] - '0');
    if (v > (ULLONG_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  if (negative) {
    if (v > static_cast<unsigned long long>(LLONG_MAX) + 1) return false;
    out = v == static_cast<unsigned long long>(LLONG_MAX) + 1 ? LLONG_MIN
                                                              : -static_cast<long long>(v);
    return true;
  }
  if (v > static_cast<unsigned long long>(LLONG_MAX)) return false;
  out = static_cast<long long>(v);
  return true;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool split_inline_args(const std::string& line_in, std::vector<std::string>& out) {
  // sdssplitargs works on a C string: a NUL ends the line.
  const std::string line = line_in.substr(0, line_in.find('\0'));
  auto at = [&line](std::size_t i) { return i < line.size() ? line[i] : '\0'; };
  std::size_t p = 0;
  for (;;) {
    while (at(p) != '\0' && is_space(at(p)))
      ++p;
    if (at(p) == '\0') return true;
    bool in_double = false;
    bool in_single = false;
    bool done = false;
    std::string current;
    while (!done) {
      const char c = at(p);
      if (in_double) {
        if (c == '\\' && at(p + 1) == 'x' && hex_value(at(p + 2)) >= 0 &&
            hex_value(at(p + 3)) >= 0) {
          current += static_cast<char>(hex_value(at(p + 2)) * 16 + hex_value(at(p + 3)));
          p += 3;
        } else if (c == '\\' && at(p + 1) != '\0') {
          ++p;
          switch (at(p)) {
            case 'n':
              current += '\n';
              break;
            case 'r':
              current += '\r';
              break;
            case 't':
              current += '\t';
              break;
            case 'b':
              current += '\b';
              break;
            case 'a':
              current += '\a';
              break;
            default:
              current += at(p);
          }
        } else if (c == '"') {
          if (at(p + 1) != '\0' && !is_space(at(p + 1))) return false;
          done = true;
        } else if (c == '\0') {
          return false;
        } else {
          current += c;
        }
      } else if (in_single) {
        if (c == '\\' && at(p + 1) == '\'') {
          ++p;
          current += '\'';
        } else if (c == '\'') {
          if (at(p + 1) != '\0' && !is_space(at(p + 1))) return false;
          done = true;
        } else if (c == '\0') {
          return false;
        } else {
          current += c;
        }
      } else {
        switch (c) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
          case '\0':
            done = true;
            break;
          case '"':
            in_double = true;
            break;
          case '\'':
            in_single = true;
            break;
          default:
            current += c;
        }
      }
      if (at(p) != '\0') ++p;
    }
    out.push_back(std::move(current));
  }
}

RedisRequestParser::Status RedisRequestParser::fail(std::string& error, const std::string& what) {
  error = "-ERR Protocol error: " + what + "\r\n";
  return Status::error;
}

void RedisRequestParser::compact() {
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 65536 && pos_ > buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
}

RedisRequestParser::Status RedisRequestParser::parse_inline(std::vector<std::string>& argv,
                                                            std::string& error) {
  const auto nl = buf_.find('\n', pos_);
  if (nl == std::string::npos) {
    if (buf_.size() - pos_ > kInlineMax) return fail(error, "too big inline request");
    return Status::need_more;
  }
  std::size_t end = nl;
  if (end > pos_ && buf_[end - 1] == '\r') --end;
  const std::string line = buf_.substr(pos_, end - pos_);
  pos_ = nl + 1;
  in_command_ = false;
  argv.clear();
  if (!split_inline_args(line, argv)) return fail(error, "unbalanced quotes in request");
  return Status::command;  // the caller skips an empty argv
}

RedisRequestParser::Status RedisRequestParser::next(std::vector<std::string>& argv,
                                                    std::string& error) {
  for (;;) {
    compact();
    if (!in_command_) {
      if (pos_ == buf_.size()) return Status::need_more;
      in_command_ = true;
      multibulk_ = buf_[pos_] == '*';
      args_left_ = -1;
      bulk_len_ = -1;
      args_.clear();
    }
    if (!multibulk_) {
      const Status s = parse_inline(argv, error);
      if (s == Status::command && argv.empty()) continue;
      return s;
    }
    if (args_left_ < 0) {
      const auto cr = buf_.find('\r', pos_);
      if (cr == std::string::npos) {
        if (buf_.size() - pos_ > kInlineMax) return fail(error, "too big mbulk count string");
        return Status::need_more;
      }
      if (cr + 1 >= buf_.size()) return Status::need_more;  // '\r' and one more byte
      long long n = 0;
      if (!string2ll(buf_.data() + pos_ + 1, cr - pos_ - 1, n) || n > INT_MAX)
        return fail(error, "invalid multibulk length");
      pos_ = cr + 2;
      if (n <= 0) {
        in_command_ = false;  // an empty command is ignored
        continue;
      }
      args_left_ = n;
    }
    while (args_left_ > 0) {
      if (bulk_len_ < 0) {
        const auto cr = buf_.find('\r', pos_);
        if (cr == std::string::npos) {
          if (buf_.size() - pos_ > kInlineMax) return fail(error, "too big bulk count string");
          return Status::need_more;
        }
        if (cr + 1 >= buf_.size()) return Status::need_more;
        if (buf_[pos_] != '$')
          return fail(error, std::string("expected '$', got '") + buf_[pos_] + "'");
        long long n = 0;
        if (!string2ll(buf_.data() + pos_ + 1, cr - pos_ - 1, n) || n < 0 || n > kMaxBulk)
          return fail(error, "invalid bulk length");
        pos_ = cr + 2;
        bulk_len_ = n;
      }
      const auto len = static_cast<std::size_t>(bulk_len_);
      if (buf_.size() - pos_ < len + 2) return Status::need_more;
      args_.emplace_back(buf_, pos_, len);
      pos_ += len + 2;
      bulk_len_ = -1;
      --args_left_;
    }
    in_command_ = false;
    argv = std::move(args_);
    args_.clear();
    return Status::command;
  }
}

}  // namespace faultline::proxy
