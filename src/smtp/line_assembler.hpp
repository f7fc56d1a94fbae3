// LineAssembler: cuts one direction of an SMTP byte stream into lines at LF, whatever
// the split of the input. A line longer than the limit is cut (the rest is skipped up
// to the LF) so memory stays bounded; the buffer grows with the longest line seen, up to
// the limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace spamtap::smtp {

class LineAssembler {
 public:
  explicit LineAssembler(size_t max_line);

  // Consumes bytes up to and including the next LF and returns how many were taken.
  // When line_ready() turns true, read the line and call next() before feeding again.
  size_t feed(std::span<const uint8_t> bytes);
  bool line_ready() const { return ready_; }
  void next();

  // The line without its CR LF (or bare LF), at most max_line bytes. Before the line is
  // complete this is the part seen so far, which lets a caller judge a stream early.
  std::string_view line() const { return buffer_; }
  bool cut() const;               // longer than max_line; the tail was dropped
  bool has_nul() const { return has_nul_; }
  bool ended_with_crlf() const { return ended_with_crlf_; }

  // Drops the partial line and skips input up to the next LF (after a gap, the bytes
  // before the next line break belong to a line whose start was never seen).
  void resync();

 private:
  std::string buffer_;
  size_t max_line_;
  size_t length_ = 0;  // bytes of the line before the LF, counting what was cut
  bool ready_ = false;
  bool skipping_ = false;
  bool has_nul_ = false;
  bool last_byte_cr_ = false;
  bool ended_with_crlf_ = false;
};

}  // namespace spamtap::smtp
