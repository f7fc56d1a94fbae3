// Text that came off the wire, made safe for where it goes. Storage keeps valid
// UTF-8 (invalid bytes become U+FFFD); a terminal or a CSV cell gets control bytes
// shown as \xNN so that no escape sequence or line break from the wire is acted on.
#pragma once

#include <string>
#include <string_view>

namespace spamtap {

// Replaces every byte sequence that is not valid UTF-8 with U+FFFD.
std::string to_valid_utf8(std::string_view text);
// Valid UTF-8 with C0/C1 controls and DEL written as \xNN (backslash doubled).
std::string escape_control(std::string_view text);
// Cuts `text` to at most `max_bytes`, never inside a UTF-8 sequence.
std::string_view truncate_utf8(std::string_view text, size_t max_bytes);

}  // namespace spamtap
