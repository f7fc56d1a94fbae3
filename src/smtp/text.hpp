// Small bounded-text helpers shared by the SMTP parsers. Everything stored from the
// wire goes through append_bounded so no string outgrows its limit.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace spamtap::smtp {

inline void append_bounded(std::string& out, std::string_view text, size_t max) {
  if (out.size() >= max) return;
  out.append(text.substr(0, max - out.size()));
}

inline std::string bounded(std::string_view text, size_t max) {
  return std::string(text.substr(0, max));
}

inline char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; }

inline bool is_space(char c) { return c == ' ' || c == '\t'; }

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

inline bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_upper(a[i]) != ascii_upper(b[i])) return false;
  }
  return true;
}

inline bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         equals_ignoring_case(text.substr(0, prefix.size()), prefix);
}

inline std::string_view trim(std::string_view text) {
  while (!text.empty() && (is_space(text.front()) || text.front() == '\r')) text.remove_prefix(1);
  while (!text.empty() && (is_space(text.back()) || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

// Upper-cased first word of `text`, at most `max` characters.
inline std::string first_word_upper(std::string_view text, size_t max) {
  text = trim(text);
  std::string word;
  for (char c : text) {
    if (is_space(c) || word.size() >= max) break;
    word.push_back(ascii_upper(c));
  }
  return word;
}

}  // namespace spamtap::smtp
