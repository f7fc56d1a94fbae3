#include "synth/frame.hpp"

#include <cstring>

namespace spamtap::synth {

namespace {

constexpr uint8_t kProtocolTcp = 6;
constexpr uint8_t kProtocolUdp = 17;
constexpr size_t kEthernetLength = 14;

void put16(uint8_t *out, uint16_t value) {
  out[0] = static_cast<uint8_t>(value >> 8);
  out[1] = static_cast<uint8_t>(value);
}

void put32(uint8_t *out, uint32_t value) {
  out[0] = static_cast<uint8_t>(value >> 24);
  out[1] = static_cast<uint8_t>(value >> 16);
  out[2] = static_cast<uint8_t>(value >> 8);
  out[3] = static_cast<uint8_t>(value);
}

// Writes Ethernet and IP headers; returns the offset of the transport header
// and the running checksum of the pseudo-header in `pseudo_sum`.
size_t write_network_headers(uint8_t *out, const Station &from, const Station &to, uint16_t ip_id,
                             uint8_t protocol, size_t transport_length, uint32_t *pseudo_sum) {
  std::memcpy(out, to.mac.data(), 6);
  std::memcpy(out + 6, from.mac.data(), 6);
  const bool v6 = from.address.is_v6();
  put16(out + 12, v6 ? 0x86dd : 0x0800);
  uint8_t *ip = out + kEthernetLength;

  if (v6) {
    put32(ip, 0x60000000u | (static_cast<uint32_t>(ip_id) & 0xfffffu));  // flow label
    put16(ip + 4, static_cast<uint16_t>(transport_length));
    ip[6] = protocol;
    ip[7] = from.hop_limit;
    std::memcpy(ip + 8, from.address.bytes().data(), 16);
    std::memcpy(ip + 24, to.address.bytes().data(), 16);
    uint32_t sum = internet_checksum_add(0, ip + 8, 32);
    sum += static_cast<uint32_t>(transport_length) + protocol;
    *pseudo_sum = sum;
    return kEthernetLength + 40;
  }

  ip[0] = 0x45;
  ip[1] = 0;
  put16(ip + 2, static_cast<uint16_t>(20 + transport_length));
  put16(ip + 4, ip_id);
  put16(ip + 6, 0x4000);  // don't fragment
  ip[8] = from.hop_limit;
  ip[9] = protocol;
  put16(ip + 10, 0);
  std::memcpy(ip + 12, from.address.bytes().data() + 12, 4);
  std::memcpy(ip + 16, to.address.bytes().data() + 12, 4);
  put16(ip + 10, internet_checksum_finish(internet_checksum_add(0, ip, 20)));
  uint32_t sum = internet_checksum_add(0, ip + 12, 8);
  sum += static_cast<uint32_t>(transport_length) + protocol;
  *pseudo_sum = sum;
  return kEthernetLength + 20;
}

size_t pad_to_minimum(uint8_t *out, size_t length) {
  if (length >= kMinFrameLength) return length;
  std::memset(out + length, 0, kMinFrameLength - length);
  return kMinFrameLength;
}

}  // namespace

uint32_t internet_checksum_add(uint32_t sum, const uint8_t *data, size_t length) {
  uint64_t wide = sum;
  // Whole 32-bit words in big-endian order; the carries fold in at the end.
  while (length >= 4) {
    wide += (static_cast<uint32_t>(data[0]) << 24) | (static_cast<uint32_t>(data[1]) << 16) |
            (static_cast<uint32_t>(data[2]) << 8) | data[3];
    data += 4;
    length -= 4;
  }
  if (length >= 2) {
    wide += (static_cast<uint32_t>(data[0]) << 8) | data[1];
    data += 2;
    length -= 2;
  }
  if (length == 1) wide += static_cast<uint32_t>(data[0]) << 8;
  while (wide >> 16) wide = (wide & 0xffff) + (wide >> 16);
  return static_cast<uint32_t>(wide);
}

uint16_t internet_checksum_finish(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

size_t write_tcp_frame(uint8_t *out, const Station &from, const Station &to, uint16_t ip_id,
                       const TcpFields &tcp, const uint8_t *payload, size_t payload_length) {
  const bool syn = (tcp.flags & tcp_flag::kSyn) != 0;
  const size_t header_length = syn ? 28 : 20;
  uint32_t sum = 0;
  const size_t offset = write_network_headers(out, from, to, ip_id, kProtocolTcp,
                                              header_length + payload_length, &sum);
  uint8_t *segment = out + offset;
  put16(segment, tcp.source_port);
  put16(segment + 2, tcp.destination_port);
  put32(segment + 4, tcp.sequence);
  put32(segment + 8, (tcp.flags & tcp_flag::kAck) ? tcp.acknowledgment : 0);
  segment[12] = static_cast<uint8_t>((header_length / 4) << 4);
  segment[13] = tcp.flags;
  put16(segment + 14, tcp.window);
  put16(segment + 16, 0);
  put16(segment + 18, 0);
  if (syn) {
    segment[20] = 2;  // MSS
    segment[21] = 4;
    put16(segment + 22, tcp.mss);
    segment[24] = 1;  // NOP, NOP, SACK permitted
    segment[25] = 1;
    segment[26] = 4;
    segment[27] = 2;
  }
  if (payload_length > 0) std::memcpy(segment + header_length, payload, payload_length);
  sum = internet_checksum_add(sum, segment, header_length + payload_length);
  put16(segment + 16, internet_checksum_finish(sum));
  return pad_to_minimum(out, offset + header_length + payload_length);
}

size_t write_udp_frame(uint8_t *out, const Station &from, const Station &to, uint16_t ip_id,
                       uint16_t source_port, uint16_t destination_port, const uint8_t *payload,
                       size_t payload_length) {
  const size_t udp_length = 8 + payload_length;
  uint32_t sum = 0;
  const size_t offset = write_network_headers(out, from, to, ip_id, kProtocolUdp, udp_length, &sum);
  uint8_t *datagram = out + offset;
  put16(datagram, source_port);
  put16(datagram + 2, destination_port);
  put16(datagram + 4, static_cast<uint16_t>(udp_length));
  put16(datagram + 6, 0);
  if (payload_length > 0) std::memcpy(datagram + 8, payload, payload_length);
  sum = internet_checksum_add(sum, datagram, udp_length);
  uint16_t checksum = internet_checksum_finish(sum);
  if (checksum == 0) checksum = 0xffff;  // zero means "no checksum" in UDP
  put16(datagram + 6, checksum);
  return pad_to_minimum(out, offset + udp_length);
}

}  // namespace spamtap::synth
