#include "core/time.hpp"

#include <cstdio>
#include <ctime>

namespace spamtap {

std::string format_iso8601(Timestamp time, int digits) {
  int64_t secs = time / kNanosPerSecond;
  int64_t nanos = time % kNanosPerSecond;
  if (nanos < 0) {
    nanos += kNanosPerSecond;
    secs -= 1;
  }
  time_t t = static_cast<time_t>(secs);
  struct tm parts {};
  gmtime_r(&t, &parts);
  char buffer[64];
  size_t n = strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &parts);
  std::string out(buffer, n);
  if (digits > 0) {
    char fraction[16];
    snprintf(fraction, sizeof fraction, "%09lld", static_cast<long long>(nanos));
    out += '.';
    out.append(fraction, digits > 9 ? 9 : digits);
  }
  out += 'Z';
  return out;
}

bool parse_time(const std::string& text, Timestamp* out) {
  if (text.empty()) return false;
  bool all_digits = text.find_first_not_of("0123456789") == std::string::npos;
  if (all_digits && text.size() <= 12) {
    *out = std::stoll(text) * kNanosPerSecond;
    return true;
  }
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  int consumed = 0;
  if (sscanf(text.c_str(), "%4d-%2d-%2d%n", &year, &month, &day, &consumed) != 3) return false;
  size_t pos = static_cast<size_t>(consumed);
  if (pos < text.size() && (text[pos] == 'T' || text[pos] == ' ')) {
    int more = 0;
    if (sscanf(text.c_str() + pos + 1, "%2d:%2d%n", &hour, &minute, &more) != 2) return false;
    pos += 1 + static_cast<size_t>(more);
    if (pos < text.size() && text[pos] == ':') {
      if (sscanf(text.c_str() + pos + 1, "%2d%n", &second, &more) != 1) return false;
      pos += 1 + static_cast<size_t>(more);
    }
  }
  int offset_minutes = 0;
  if (pos < text.size()) {
    if (text[pos] == 'Z' && pos + 1 == text.size()) {
      pos++;
    } else if (text[pos] == '+' || text[pos] == '-') {
      int oh = 0, om = 0;
      if (sscanf(text.c_str() + pos + 1, "%2d:%2d", &oh, &om) != 2) return false;
      offset_minutes = (oh * 60 + om) * (text[pos] == '-' ? -1 : 1);
      pos = text.size();
    } else {
      return false;
    }
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return false;
  }
  struct tm parts {};
  parts.tm_year = year - 1900;
  parts.tm_mon = month - 1;
  parts.tm_mday = day;
  parts.tm_hour = hour;
  parts.tm_min = minute;
  parts.tm_sec = second;
  time_t t = timegm(&parts);
  *out = (static_cast<int64_t>(t) - offset_minutes * 60) * kNanosPerSecond;
  return true;
}

}  // namespace spamtap
