// ReplyAssembler: collects the lines of one server reply ("250-..." continuation lines
// up to the "250 ..." final line) into a Reply. It also keeps the first word of each
// line, which is how an EHLO reply lists the server's extensions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "smtp/model.hpp"

namespace spamtap::smtp {

enum class ReplyLineOutcome { Continued, Completed, Malformed };

class ReplyAssembler {
 public:
  explicit ReplyAssembler(size_t max_text);

  ReplyLineOutcome add_line(std::string_view line, Timestamp time);

  // Valid right after add_line() returned Completed.
  Reply take();
  bool codes_differed() const { return codes_differed_; }
  int first_code() const { return first_code_; }
  // First word of each line, upper-cased (bounded in count and length).
  const std::vector<std::string>& line_keywords() const { return keywords_; }

  bool in_progress() const { return in_progress_; }
  void reset();

 private:
  size_t max_text_;
  bool in_progress_ = false;
  bool codes_differed_ = false;
  int first_code_ = 0;
  Reply reply_;
  std::vector<std::string> keywords_;
};

// "5.7.1" when `text` opens with an RFC 3463 enhanced status code, else empty.
std::string parse_enhanced_status(std::string_view text);

}  // namespace spamtap::smtp
