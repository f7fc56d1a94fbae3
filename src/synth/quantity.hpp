// Quantities as people type them on the command line: durations ("90s", "15m",
// "1h", "2d", or plain seconds) and sizes ("500K", "200MB", "1GiB", or bytes).
// Decimal units are powers of 1000, the "i" forms powers of 1024.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/time.hpp"

namespace spamtap::synth {

std::optional<Timestamp> parse_duration(std::string_view text);
std::optional<uint64_t> parse_size(std::string_view text);

}  // namespace spamtap::synth
