// See safe_regex.hpp.
#include "common/safe_regex.hpp"

#include <re2/re2.h>

namespace faultline {

struct SafeRegex::Impl {
  explicit Impl(std::string_view pattern, const RE2::Options& o) : re(pattern, o) {}
  RE2 re;
};

std::optional<SafeRegex> SafeRegex::compile(std::string_view pattern, std::string& error) {
  RE2::Options o;
  o.set_log_errors(false);
  auto impl = std::make_shared<const Impl>(pattern, o);
  if (!impl->re.ok()) {
    error = impl->re.error();
    return std::nullopt;
  }
  SafeRegex r;
  r.impl_ = std::move(impl);
  r.pattern_ = std::string(pattern);
  return r;
}

SafeRegex::~SafeRegex() = default;
SafeRegex::SafeRegex(SafeRegex&&) noexcept = default;
SafeRegex& SafeRegex::operator=(SafeRegex&&) noexcept = default;
SafeRegex::SafeRegex(const SafeRegex&) = default;
SafeRegex& SafeRegex::operator=(const SafeRegex&) = default;

bool SafeRegex::full_match(std::string_view text) const {
  return RE2::FullMatch(re2::StringPiece(text.data(), text.size()), impl_->re);
}

bool SafeRegex::search(std::string_view text) const {
  return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), impl_->re);
}

}  // namespace faultline
