// Decoder: turns one captured frame into a Packet (link layer, IPv4/IPv6, TCP, UDP,
// ICMP). It reads every length against what was captured and never trusts the
// wire; a frame it cannot use is counted under a named reason and skipped. IPv4 and
// IPv6 fragments are held (bounded, timed out) until the datagram is whole.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "capture/capture_file.hpp"
#include "decode/packet.hpp"

namespace spamtap {

enum class DecodeStatus {
  kPacket,            // `packet` is filled: an IP packet with a transport header
  kNotIp,             // ARP, LLDP, STP, ... : counted, nothing to do
  kFragmentHeld,      // part of a fragmented datagram, waiting for the rest
  kMalformed,         // counted in the anomaly counters under its reason
  kUnsupportedLink,   // a link type the decoder does not know
};

struct DecodeLimits {
  size_t max_fragment_bytes = 16 * 1024 * 1024;  // all datagrams being reassembled
  size_t max_fragment_datagrams = 4096;
  Timestamp fragment_timeout = seconds(30);
};

class Decoder {
 public:
  explicit Decoder(DecodeLimits limits = {});
  ~Decoder();

  // `packet.payload` may point into the decoder's own buffer (a reassembled
  // datagram); it stays valid until the next call.
  DecodeStatus decode(const Frame& frame, Packet* packet);

  // Named anomaly counters ("ipv4_bad_header_length", "tcp_truncated_header", ...).
  const std::map<std::string, uint64_t>& anomalies() const;
  uint64_t frames() const;
  uint64_t not_ip() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace spamtap
