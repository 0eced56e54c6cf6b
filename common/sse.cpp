#include "common/sse.hpp"

#include <utility>

namespace faultline {

SseFramer::SseFramer(std::size_t max_event) : max_(max_event == 0 ? 1 : max_event) {}

void SseFramer::emit(std::vector<SsePiece>& out, bool event) {
  if (!held_.empty()) out.push_back(SsePiece{std::move(held_), event && nonblank_ && !oversized_});
  held_.clear();
  line_start_ = true;
  nonblank_ = false;
  oversized_ = false;
}

void SseFramer::flush_oversized(std::vector<SsePiece>& out) {
  if (!oversized_) {
    oversized_ = true;
    ++oversized_events_;
  }
  out.push_back(SsePiece{std::move(held_), false});
  held_.clear();
}

void SseFramer::feed(std::string_view data, std::vector<SsePiece>& out) {
  std::size_t i = 0;
  while (i < data.size()) {
    if (pending_cr_) {
      pending_cr_ = false;
      const bool blank = std::exchange(blank_cr_, false);
      if (data[i] == '\n') {
        held_ += '\n';
        ++i;
        if (blank) emit(out, true);
      } else if (blank) {
        emit(out, true);  // the byte starts the next event
        continue;
      }
    } else if (data[i] == '\n') {
      held_ += '\n';
      ++i;
      if (line_start_) {
        emit(out, true);
      } else {
        line_start_ = true;
      }
    } else if (data[i] == '\r') {
      held_ += '\r';
      ++i;
      pending_cr_ = true;
      if (line_start_) {
        blank_cr_ = true;
      } else {
        line_start_ = true;
      }
    } else {
      // A run of line content, appended at once up to the bound.
      std::size_t end = data.find_first_of("\r\n", i);
      if (end == std::string_view::npos) end = data.size();
      std::size_t take = end - i;
      const std::size_t room = max_ - held_.size();  // > 0: the bound was flushed below
      if (take > room) take = room;
      held_.append(data.substr(i, take));
      i += take;
      line_start_ = false;
      nonblank_ = true;
    }
    // An event complete but for a possible LF is kept whole (it is at most max_ bytes).
    if (held_.size() >= max_ && !blank_cr_) flush_oversized(out);
  }
}

void SseFramer::finish(std::vector<SsePiece>& out) {
  emit(out, blank_cr_);
  pending_cr_ = false;
  blank_cr_ = false;
}

}  // namespace faultline
