#include "smtp/reply_assembler.hpp"

#include "smtp/text.hpp"

namespace spamtap::smtp {
namespace {

constexpr size_t kMaxKeywords = 64;
constexpr size_t kMaxKeywordLength = 64;

// Reads a run of 1 to 3 digits at text[*at]; false when there is none or too many.
bool take_short_number(std::string_view text, size_t* at) {
  size_t start = *at;
  while (*at < text.size() && is_digit(text[*at])) ++*at;
  size_t digits = *at - start;
  return digits >= 1 && digits <= 3;
}

}  // namespace

std::string parse_enhanced_status(std::string_view text) {
  text = trim(text);
  if (text.size() < 5) return {};
  if (text[0] != '2' && text[0] != '4' && text[0] != '5') return {};
  if (text[1] != '.') return {};

  size_t at = 2;
  if (!take_short_number(text, &at) || at >= text.size() || text[at] != '.') return {};
  ++at;
  if (!take_short_number(text, &at)) return {};
  if (at < text.size() && !is_space(text[at])) return {};
  return std::string(text.substr(0, at));
}

ReplyAssembler::ReplyAssembler(size_t max_text) : max_text_(max_text) {}

ReplyLineOutcome ReplyAssembler::add_line(std::string_view line, Timestamp time) {
  if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2])) {
    return ReplyLineOutcome::Malformed;
  }
  if (line[0] < '1' || line[0] > '5') return ReplyLineOutcome::Malformed;
  bool final_line = line.size() == 3 || line[3] == ' ';
  if (!final_line && line[3] != '-') return ReplyLineOutcome::Malformed;

  int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view{};

  if (!in_progress_) {
    in_progress_ = true;
    first_code_ = code;
    codes_differed_ = false;
    keywords_.clear();
  } else {
    if (code != first_code_) codes_differed_ = true;
    append_bounded(reply_.text, " | ", max_text_);
  }
  append_bounded(reply_.text, text, max_text_);
  ++reply_.line_count;
  if (keywords_.size() < kMaxKeywords) {
    keywords_.push_back(first_word_upper(text, kMaxKeywordLength));
  }

  if (!final_line) return ReplyLineOutcome::Continued;
  reply_.code = code;
  reply_.time = time;
  reply_.enhanced_status = parse_enhanced_status(text);
  return ReplyLineOutcome::Completed;
}

Reply ReplyAssembler::take() {
  Reply out = reply_;
  in_progress_ = false;
  reply_.text.clear();
  reply_.line_count = 0;
  return out;
}

void ReplyAssembler::reset() {
  in_progress_ = false;
  codes_differed_ = false;
  first_code_ = 0;
  reply_ = Reply{};
  keywords_.clear();
}

}  // namespace spamtap::smtp
