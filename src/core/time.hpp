// Time in spamtap is capture time: nanoseconds since the Unix epoch, as read from
// the capture file or the interface. Wall-clock time is never used for analysis.
#pragma once

#include <cstdint>
#include <string>

namespace spamtap {

using Timestamp = int64_t;  // nanoseconds since 1970-01-01T00:00:00Z

constexpr Timestamp kNanosPerSecond = 1'000'000'000;

constexpr Timestamp seconds(int64_t s) {
  return s * kNanosPerSecond;
}

// "2026-12-04T16:05:50.123456789Z"; digits after the second are trimmed to `digits`.
std::string format_iso8601(Timestamp time, int digits = 6);
// Accepts "2026-12-04", "2026-12-04T16:05", "2026-12-04T16:05:50Z", "…+01:00" and a plain
// count of seconds since the epoch. Returns false on anything else.
bool parse_time(const std::string& text, Timestamp* out);

}  // namespace spamtap
