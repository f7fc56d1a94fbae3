#include "smtp/message_content.hpp"

#include <cstring>

#include "smtp/text.hpp"

namespace spamtap::smtp {
namespace {

// Field names fit easily; the value gets max_text after trimming.
constexpr size_t kFieldNameRoom = 128;

const uint8_t kCrLf[] = {'\r', '\n'};
const uint8_t kCr[] = {'\r'};

}  // namespace

HeaderScanner::HeaderScanner(size_t max_text, size_t max_header_bytes)
    : max_text_(max_text), max_header_bytes_(max_header_bytes) {}

void HeaderScanner::start() {
  stage_ = Stage::Headers;
  header_bytes_ = 0;
  line_length_ = 0;
  have_field_ = false;
  too_long_ = false;
  field_.clear();
}

void HeaderScanner::feed(std::span<const uint8_t> content, Transaction& t) {
  t.message_bytes += content.size();
  for (size_t i = 0; i < content.size() && stage_ == Stage::Headers; ++i) scan(content[i], t);
}

void HeaderScanner::scan(uint8_t byte, Transaction& t) {
  if (++header_bytes_ > max_header_bytes_) {
    too_long_ = true;
    flush_field(t);
    stage_ = Stage::Body;
    return;
  }
  if (byte == '\r') return;

  if (byte == '\n') {
    if (line_length_ == 0) {
      flush_field(t);  // the empty line closes the header block
      stage_ = Stage::Body;
    }
    line_length_ = 0;
    return;
  }

  if (line_length_++ == 0 && !is_space(static_cast<char>(byte))) {
    flush_field(t);  // a new field; a leading blank would have continued the last one
    have_field_ = true;
  }
  if (have_field_ && field_.size() < max_text_ + kFieldNameRoom) {
    field_.push_back(static_cast<char>(byte));
  }
}

void HeaderScanner::flush_field(Transaction& t) {
  if (!have_field_) return;
  have_field_ = false;

  std::string_view field = field_;
  size_t colon = field.find(':');
  if (colon != std::string_view::npos) {
    std::string_view name = trim(field.substr(0, colon));
    std::string_view value = trim(field.substr(colon + 1));
    std::string* slot = nullptr;
    if (equals_ignoring_case(name, "X-Mailer")) slot = &t.x_mailer;
    if (equals_ignoring_case(name, "User-Agent")) slot = &t.user_agent;
    if (equals_ignoring_case(name, "Message-ID")) slot = &t.message_id;
    if (equals_ignoring_case(name, "Date")) slot = &t.date;
    if (equals_ignoring_case(name, "Subject")) slot = &t.subject;
    // The first occurrence wins: a repeated field is more likely forged than fixed.
    if (slot && slot->empty()) *slot = bounded(value, max_text_);
  }
  field_.clear();
}

void HeaderScanner::finish(Transaction& t) {
  if (stage_ == Stage::Headers) flush_field(t);
  stage_ = Stage::Body;
}

void HeaderScanner::gap() {
  // A header whose value was partly lost, or an empty line that was lost, would make
  // body lines look like headers; stop reading rather than guess.
  have_field_ = false;
  field_.clear();
  stage_ = Stage::Body;
}

void DotDecoder::start() {
  position_ = Position::LineStart;
  previous_line_bare_lf_ = false;
  last_byte_cr_ = false;
}

void DotDecoder::gap() {
  position_ = Position::InLine;
  last_byte_cr_ = false;
}

DotDecoderResult DotDecoder::feed(std::span<const uint8_t> bytes, HeaderScanner& content,
                                  Transaction& t) {
  DotDecoderResult result;
  size_t at = 0;

  while (at < bytes.size()) {
    uint8_t byte = bytes[at];
    switch (position_) {
      case Position::LineStart:
        if (byte == '.') {
          position_ = Position::AfterDot;  // end marker or a stuffed dot: dropped either way
          ++at;
        } else {
          position_ = Position::InLine;
        }
        break;

      case Position::AfterDot:
        if (byte == '\r') {
          position_ = Position::AfterDotCr;
          ++at;
        } else {
          last_byte_cr_ = false;
          position_ = Position::InLine;
        }
        break;

      case Position::AfterDotCr:
        if (byte == '\n' && !previous_line_bare_lf_) {
          position_ = Position::LineStart;
          result.consumed = at + 1;
          result.end_of_data = true;
          return result;
        }
        if (byte == '\n') {
          // "LF . CR LF": some servers end the message here, others do not; the
          // difference is what SMTP smuggling exploits, so it is never the end.
          ++result.bare_lf_before_dot;
          content.feed(kCrLf, t);
          previous_line_bare_lf_ = false;
          last_byte_cr_ = false;
          position_ = Position::LineStart;
          ++at;
        } else {
          content.feed(kCr, t);
          last_byte_cr_ = true;
          position_ = Position::InLine;
        }
        break;

      case Position::InLine: {
        const uint8_t* start = bytes.data() + at;
        size_t left = bytes.size() - at;
        const auto* newline = static_cast<const uint8_t*>(std::memchr(start, '\n', left));
        size_t run = newline ? static_cast<size_t>(newline - start) + 1 : left;
        content.feed(bytes.subspan(at, run), t);
        if (newline) {
          bool cr_before = run >= 2 ? start[run - 2] == '\r' : last_byte_cr_;
          previous_line_bare_lf_ = !cr_before;
          position_ = Position::LineStart;
        }
        last_byte_cr_ = start[run - 1] == '\r';
        at += run;
        break;
      }
    }
  }
  result.consumed = at;
  return result;
}

}  // namespace spamtap::smtp
