#include "synth/quantity.hpp"

#include <cctype>
#include <cmath>
#include <string>

namespace spamtap::synth {

namespace {

// Splits "12.5MB" into 12.5 and "MB"; rejects empty, negative or non-numeric
// text.
bool split_number(std::string_view text, double *number, std::string *unit) {
  size_t digits = 0;
  bool seen_digit = false;
  bool seen_point = false;
  while (digits < text.size()) {
    const char c = text[digits];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      seen_digit = true;
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else {
      break;
    }
    ++digits;
  }
  if (!seen_digit) return false;
  *number = std::stod(std::string(text.substr(0, digits)));
  unit->clear();
  for (char c : text.substr(digits)) {
    if (c == ' ') continue;
    unit->push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return true;
}

}  // namespace

std::optional<Timestamp> parse_duration(std::string_view text) {
  double number = 0;
  std::string unit;
  if (!split_number(text, &number, &unit)) return std::nullopt;
  double scale = 0;
  if (unit.empty() || unit == "s" || unit == "sec") {
    scale = 1;
  } else if (unit == "ms") {
    scale = 1e-3;
  } else if (unit == "m" || unit == "min") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  } else if (unit == "d") {
    scale = 86400;
  } else {
    return std::nullopt;
  }
  const double nanoseconds = number * scale * 1e9;
  // At most a year of capture time: capture timestamps must stay far from overflow.
  if (!(nanoseconds > 0) || nanoseconds > 366.0 * 86400 * 1e9) return std::nullopt;
  return static_cast<Timestamp>(std::llround(nanoseconds));
}

std::optional<uint64_t> parse_size(std::string_view text) {
  double number = 0;
  std::string unit;
  if (!split_number(text, &number, &unit)) return std::nullopt;
  double scale = 0;
  if (unit.empty() || unit == "b") {
    scale = 1;
  } else if (unit == "k" || unit == "kb") {
    scale = 1e3;
  } else if (unit == "m" || unit == "mb") {
    scale = 1e6;
  } else if (unit == "g" || unit == "gb") {
    scale = 1e9;
  } else if (unit == "kib") {
    scale = 1024.0;
  } else if (unit == "mib") {
    scale = 1024.0 * 1024;
  } else if (unit == "gib") {
    scale = 1024.0 * 1024 * 1024;
  } else {
    return std::nullopt;
  }
  const double bytes = number * scale;
  if (!(bytes >= 1) || bytes > 1e15) return std::nullopt;
  return static_cast<uint64_t>(std::llround(bytes));
}

}  // namespace spamtap::synth
