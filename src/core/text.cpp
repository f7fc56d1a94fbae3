#include "core/text.hpp"

#include <cstdint>
#include <cstdio>

namespace spamtap {

namespace {

// Length of the valid UTF-8 sequence at `text[at]`, or 0 if it is not valid.
size_t valid_sequence_length(std::string_view text, size_t at) {
  auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  uint8_t lead = byte(at);
  if (lead < 0x80) return 1;
  size_t length;
  uint32_t minimum;
  uint32_t code;
  if ((lead & 0xE0) == 0xC0) {
    length = 2, minimum = 0x80, code = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, minimum = 0x800, code = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, minimum = 0x10000, code = lead & 0x07;
  } else {
    return 0;
  }
  if (at + length > text.size()) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(at + i) & 0x3F);
  }
  if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

// U+200E/U+200F, U+2028/U+2029, U+202A..U+202E and U+2066..U+2069 at `at` (E2 lead).
bool is_format_control(std::string_view text, size_t at) {
  auto second = static_cast<uint8_t>(text[at + 1]);
  auto third = static_cast<uint8_t>(text[at + 2]);
  if (second == 0x80) {
    return third == 0x8E || third == 0x8F || (third >= 0xA8 && third <= 0xAE);
  }
  return second == 0x81 && third >= 0xA6 && third <= 0xA9;
}

}  // namespace

std::string to_valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t at = 0; at < text.size();) {
    size_t length = valid_sequence_length(text, at);
    if (length == 0) {
      out += "\xEF\xBF\xBD";
      at += 1;
    } else {
      out.append(text.substr(at, length));
      at += length;
    }
  }
  return out;
}

std::string escape_control(std::string_view text) {
  std::string valid = to_valid_utf8(text);
  std::string out;
  out.reserve(valid.size());
  for (size_t at = 0; at < valid.size(); ++at) {
    auto c = static_cast<uint8_t>(valid[at]);
    bool c1 = c == 0xC2 && at + 1 < valid.size() && static_cast<uint8_t>(valid[at + 1]) < 0xA0;
    if (c < 0x20 || c == 0x7F) {
      char buffer[8];
      snprintf(buffer, sizeof buffer, "\\x%02x", c);
      out += buffer;
    } else if (c == 0xE2 && at + 2 < valid.size() && is_format_control(valid, at)) {
      // Bidirectional overrides and line separators can reorder or break what an
      // operator reads; show them as code points.
      unsigned code = ((c & 0x0F) << 12) | ((static_cast<uint8_t>(valid[at + 1]) & 0x3F) << 6) |
                      (static_cast<uint8_t>(valid[at + 2]) & 0x3F);
      char buffer[12];
      snprintf(buffer, sizeof buffer, "\\u%04x", code);
      out += buffer;
      at += 2;
    } else if (c1) {
      char buffer[8];
      snprintf(buffer, sizeof buffer, "\\x%02x", static_cast<uint8_t>(valid[at + 1]));
      out += buffer;
      ++at;
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string_view truncate_utf8(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<uint8_t>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut);
}

}  // namespace spamtap
