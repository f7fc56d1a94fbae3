#include "smtp/line_assembler.hpp"

#include <algorithm>
#include <cstring>

namespace spamtap::smtp {

// The buffer grows with the longest line seen rather than being reserved up front: a
// session holds two assemblers, and a full-size reservation per connection made idle
// connections cost kilobytes each.
LineAssembler::LineAssembler(size_t max_line) : max_line_(max_line) {}

size_t LineAssembler::feed(std::span<const uint8_t> bytes) {
  if (ready_ || bytes.empty()) return 0;

  const auto* newline = static_cast<const uint8_t*>(std::memchr(bytes.data(), '\n', bytes.size()));
  size_t run = newline ? static_cast<size_t>(newline - bytes.data()) : bytes.size();
  size_t consumed = newline ? run + 1 : run;

  if (skipping_) {
    if (newline) skipping_ = false;
    return consumed;
  }

  // One byte of slack holds a CR that may still turn out to end the line.
  size_t room = max_line_ + 1 - buffer_.size();
  buffer_.append(reinterpret_cast<const char*>(bytes.data()), std::min(run, room));
  length_ += run;
  if (run > 0) {
    if (std::memchr(bytes.data(), '\0', run)) has_nul_ = true;
    last_byte_cr_ = bytes[run - 1] == '\r';
  }

  if (newline) {
    ready_ = true;
    ended_with_crlf_ = last_byte_cr_;
    size_t content = length_ - (ended_with_crlf_ ? 1 : 0);
    if (ended_with_crlf_ && buffer_.size() == length_) buffer_.pop_back();
    if (buffer_.size() > std::min(content, max_line_)) buffer_.resize(std::min(content, max_line_));
  }
  return consumed;
}

bool LineAssembler::cut() const {
  size_t content = length_ - (ended_with_crlf_ ? 1 : 0);
  return content > max_line_;
}

void LineAssembler::next() {
  buffer_.clear();
  length_ = 0;
  ready_ = false;
  has_nul_ = false;
  last_byte_cr_ = false;
  ended_with_crlf_ = false;
}

void LineAssembler::resync() {
  next();
  skipping_ = true;
}

}  // namespace spamtap::smtp
