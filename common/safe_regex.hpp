// The one regular-expression engine for user-supplied patterns (ready checks; the proxy's match
// rules next): RE2, whose matching time is linear in the input, so a pattern like `^(a+)+$`
// cannot backtrack for ever on a hostile line (std::regex can, and recurses per character). RE2's
// syntax is Perl's without backreferences and lookaround; a pattern that uses them is refused when
// it is compiled, with RE2's message.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace faultline {

class SafeRegex {
 public:
  // nullopt with `error` set when the pattern is invalid (or longer than RE2's memory budget).
  static std::optional<SafeRegex> compile(std::string_view pattern, std::string& error);
  ~SafeRegex();
  SafeRegex(SafeRegex&&) noexcept;
  SafeRegex& operator=(SafeRegex&&) noexcept;
  SafeRegex(const SafeRegex&);
  SafeRegex& operator=(const SafeRegex&);

  // The whole text matches.
  bool full_match(std::string_view text) const;
  // Some part of the text matches.
  bool search(std::string_view text) const;
  const std::string& pattern() const noexcept { return pattern_; }

 private:
  SafeRegex() = default;
  struct Impl;
  std::shared_ptr<const Impl> impl_;  // RE2 objects are thread-safe for matching
  std::string pattern_;
};

}  // namespace faultline
