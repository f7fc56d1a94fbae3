// Address arithmetic for the intel stage: addresses as 128-bit integers, the last address
// of a prefix, and the cover of an arbitrary first-last range by the fewest CIDRs.
#pragma once

#include <cstdint>
#include <vector>

#include "core/address.hpp"

namespace spamtap::intel {

__extension__ using Uint128 = unsigned __int128;

// IPv4 addresses give values below 2^32, IPv6 addresses the full 128 bits.
inline Uint128 to_integer(const IpAddress& address) {
  Uint128 value = 0;
  for (uint8_t byte : address.bytes()) value = (value << 8) | byte;
  return value;
}

inline IpAddress from_integer(Uint128 value, bool is_v6) {
  uint8_t bytes[16];
  for (int i = 15; i >= 0; --i) {
    bytes[i] = static_cast<uint8_t>(value);
    value >>= 8;
  }
  return is_v6 ? IpAddress::v6_bytes(bytes) : IpAddress::v4_bytes(bytes + 12);
}

// The number of addresses below the prefix boundary, minus one: 2^(width-length) - 1.
inline Uint128 host_mask(int width, int prefix_length) {
  int host_bits = width - prefix_length;
  if (host_bits >= 128) return ~Uint128{0};
  return (Uint128{1} << host_bits) - 1;
}

inline Uint128 last_address(const Cidr& cidr) {
  return to_integer(cidr.network) | host_mask(cidr.network.bit_width(), cidr.prefix_length);
}

// first <= last and both of one family; at most 2 * width CIDRs come out.
inline std::vector<Cidr> range_to_cidrs(const IpAddress& first, const IpAddress& last) {
  std::vector<Cidr> cidrs;
  int width = first.bit_width();
  Uint128 low = to_integer(first);
  Uint128 high = to_integer(last);
  while (true) {
    // The largest block aligned at `low` that does not pass `high`.
    int length = width;
    while (length > 0) {
      Uint128 mask = host_mask(width, length - 1);
      if ((low & mask) != 0 || high - low < mask) break;
      --length;
    }
    Cidr cidr;
    cidr.network = from_integer(low, first.is_v6());
    cidr.prefix_length = length;
    cidrs.push_back(cidr);

    Uint128 block_last = low | host_mask(width, length);
    if (block_last >= high) break;
    low = block_last + 1;
  }
  return cidrs;
}

}  // namespace spamtap::intel
