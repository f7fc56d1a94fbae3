// Frame building: one Ethernet frame carrying IPv4 or IPv6 and TCP or UDP,
// written into a caller's buffer with every length and checksum filled in. Used
// by the conversation writer; nothing here allocates.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "core/address.hpp"

namespace spamtap::synth {

using MacAddress = std::array<uint8_t, 6>;

// One end of a frame as the capture sees it: hosts behind the gateway share the
// gateway's MAC address on the wire.
struct Station {
  IpAddress address;
  MacAddress mac{};
  uint8_t hop_limit = 64;  // TTL as it arrives at the capture point
};

namespace tcp_flag {
constexpr uint8_t kFin = 0x01;
constexpr uint8_t kSyn = 0x02;
constexpr uint8_t kRst = 0x04;
constexpr uint8_t kPsh = 0x08;
constexpr uint8_t kAck = 0x10;
}  // namespace tcp_flag

struct TcpFields {
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
  uint32_t sequence = 0;
  uint32_t acknowledgment = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  // SYN options: MSS, SACK permitted. `mss` is only used when the SYN flag is
  // set.
  uint16_t mss = 1460;
};

// Longest frame any builder writes: Ethernet, IPv6, TCP with options, a full
// MSS.
constexpr size_t kMaxFrameLength = 14 + 40 + 32 + 1500;
// Short frames are padded to the Ethernet minimum (without FCS).
constexpr size_t kMinFrameLength = 60;

// Both stations must be the same address family. Returns the frame length.
size_t write_tcp_frame(uint8_t *out, const Station &from, const Station &to, uint16_t ip_id,
                       const TcpFields &tcp, const uint8_t *payload, size_t payload_length);
size_t write_udp_frame(uint8_t *out, const Station &from, const Station &to, uint16_t ip_id,
                       uint16_t source_port, uint16_t destination_port, const uint8_t *payload,
                       size_t payload_length);

// The ones'-complement sum of RFC 1071, folded but not inverted, continuing
// `sum`.
uint32_t internet_checksum_add(uint32_t sum, const uint8_t *data, size_t length);
uint16_t internet_checksum_finish(uint32_t sum);

}  // namespace spamtap::synth
