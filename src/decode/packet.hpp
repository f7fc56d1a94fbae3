// A decoded packet: zero-copy views into the captured bytes plus the few header
// fields the flow table and reassembly need. The decoder fills one of these per
// frame; nothing here owns memory, so it is valid only while the frame buffer is.
#pragma once

#include <cstdint>
#include <span>

#include "core/address.hpp"
#include "core/time.hpp"

namespace spamtap {

namespace ip_protocol {
constexpr uint8_t kIcmp = 1;
constexpr uint8_t kIpInIp = 4;
constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;
constexpr uint8_t kIpv6InIp = 41;
constexpr uint8_t kGre = 47;
constexpr uint8_t kIcmpV6 = 58;
}  // namespace ip_protocol

namespace tcp_flag {
constexpr uint8_t kFin = 0x01;
constexpr uint8_t kSyn = 0x02;
constexpr uint8_t kRst = 0x04;
constexpr uint8_t kPsh = 0x08;
constexpr uint8_t kAck = 0x10;
}  // namespace tcp_flag

// A tunnelled packet (IP in IP, IPv6 in IPv4, GRE, ERSPAN) is described by its
// innermost IP datagram: addresses, protocol, ports and `ip_length` are the inner
// ones, as a host at either end of the tunnel sees them. `wire_length` and
// `captured_length` stay those of the whole outer frame.
struct Packet {
  Timestamp time = 0;
  uint32_t wire_length = 0;      // frame length on the wire
  uint32_t captured_length = 0;  // frame bytes captured
  uint8_t tunnel_depth = 0;      // encapsulations removed to reach the inner IP datagram

  IpAddress source;
  IpAddress destination;
  uint8_t protocol = 0;         // transport protocol after IPv6 extension headers
  uint32_t ip_length = 0;       // IP header + payload per the IP header (total length)
  uint16_t source_port = 0;     // TCP/UDP ports; ICMP type and code for ICMP
  uint16_t destination_port = 0;

  // The snap length cut the TCP header inside its first 20 bytes: the ports are
  // real, but sequence, acknowledgment, flags and window are zero because they
  // were not captured, and the payload is unknown (empty, length 0). A consumer
  // must not read "no ACK" or "no SYN" into such a packet.
  bool transport_truncated = false;

  // TCP only.
  uint32_t sequence = 0;
  uint32_t acknowledgment = 0;
  uint8_t tcp_flags = 0;
  uint16_t window = 0;

  // Transport payload as captured (may be shorter than `payload_length` when the
  // snap length cut the frame).
  std::span<const uint8_t> payload;
  uint32_t payload_length = 0;  // transport payload length per the IP/TCP headers
};

}  // namespace spamtap
