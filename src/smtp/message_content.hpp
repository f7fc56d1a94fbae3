// Message content after DATA or BDAT.
//
// DotDecoder finds the end of DATA content (a line that is exactly "." after a CR LF)
// and removes dot-stuffing, byte by byte so any split of the stream works. It hands
// the unstuffed content to a HeaderScanner, which reads only the outer header block of
// the message (up to the first empty line, bounded) for the fields that identify the
// sending software. Headers of attached messages lie past that block and are never
// read. BDAT content is raw and goes to the HeaderScanner directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "smtp/model.hpp"

namespace spamtap::smtp {

class HeaderScanner {
 public:
  HeaderScanner(size_t max_text, size_t max_header_bytes);

  void start();  // a new message begins
  // Counts the content into t.message_bytes and fills t's header fields.
  void feed(std::span<const uint8_t> content, Transaction& t);
  void finish(Transaction& t);  // content ended: the field being read is complete
  void gap();                   // content went missing: stop reading headers
  bool header_block_too_long() const { return too_long_; }

 private:
  enum class Stage { Headers, Body };

  void scan(uint8_t byte, Transaction& t);
  void flush_field(Transaction& t);

  size_t max_text_;
  size_t max_header_bytes_;
  Stage stage_ = Stage::Body;
  size_t header_bytes_ = 0;
  size_t line_length_ = 0;  // bytes of the current physical line, CR not counted
  bool have_field_ = false;
  bool too_long_ = false;
  std::string field_;  // "Name: value" with folded lines joined
};

struct DotDecoderResult {
  size_t consumed = 0;
  bool end_of_data = false;        // the ". CR LF" line was consumed
  uint32_t bare_lf_before_dot = 0;  // "LF . CR LF" seen and not taken as the end
};

class DotDecoder {
 public:
  void start();
  DotDecoderResult feed(std::span<const uint8_t> bytes, HeaderScanner& content, Transaction& t);
  void gap();  // resume at the next line break: a line start cannot be trusted

 private:
  enum class Position { LineStart, AfterDot, AfterDotCr, InLine };

  Position position_ = Position::LineStart;
  bool previous_line_bare_lf_ = false;
  bool last_byte_cr_ = false;
};

}  // namespace spamtap::smtp
