// Decoder tests on frames written out byte by byte. Each expected value is worked
// out by hand in the comment next to the bytes it comes from.
#include "decode/decoder.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace spamtap {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes join(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

std::string text(std::span<const uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

// Destination 00:11:22:33:44:55, source 66:77:88:99:aa:bb; the EtherType follows.
const Bytes kMacs = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb};

// IPv4 192.168.1.10 -> 10.0.0.1, TCP 50000 -> 25 carrying "HELO".
const Bytes kIpv4Tcp = {
    0x45, 0x00, 0x00, 0x2c,  // version 4, IHL 5 (20 bytes); total length 0x2c = 44
    0x12, 0x34, 0x40, 0x00,  // id 0x1234; DF, fragment offset 0
    0x40, 0x06, 0x00, 0x00,  // TTL 64, protocol 6 (TCP), checksum (not checked)
    0xc0, 0xa8, 0x01, 0x0a,  // source 192.168.1.10
    0x0a, 0x00, 0x00, 0x01,  // destination 10.0.0.1
    0xc3, 0x50, 0x00, 0x19,  // ports 0xc350 = 50000 -> 0x19 = 25
    0x00, 0x00, 0x00, 0x64,  // sequence 100
    0x00, 0x00, 0x00, 0xc8,  // acknowledgment 200
    0x50, 0x18, 0x72, 0x10,  // data offset 5 (20 bytes); PSH|ACK = 0x18; window 0x7210 = 29200
    0x00, 0x00, 0x00, 0x00,  // checksum, urgent pointer
    'H',  'E',  'L',  'O',   // payload: 44 - 20 - 20 = 4 bytes
};

Frame frame_of(const Bytes& bytes, int link, uint32_t wire = 0) {
  Frame frame;
  frame.data = bytes.data();
  frame.captured_length = static_cast<uint32_t>(bytes.size());
  frame.wire_length = wire != 0 ? wire : frame.captured_length;
  frame.link_type = link;
  frame.time = seconds(1000);
  return frame;
}

void expect_helo_packet(const Packet& packet) {
  EXPECT_EQ(packet.source.to_string(), "192.168.1.10");
  EXPECT_EQ(packet.destination.to_string(), "10.0.0.1");
  EXPECT_EQ(packet.protocol, ip_protocol::kTcp);
  EXPECT_EQ(packet.ip_length, 44u);
  EXPECT_EQ(packet.source_port, 50000);
  EXPECT_EQ(packet.destination_port, 25);
  EXPECT_EQ(packet.sequence, 100u);
  EXPECT_EQ(packet.acknowledgment, 200u);
  EXPECT_EQ(packet.tcp_flags, tcp_flag::kPsh | tcp_flag::kAck);
  EXPECT_EQ(packet.window, 29200);
  EXPECT_EQ(text(packet.payload), "HELO");
  EXPECT_EQ(packet.payload_length, 4u);
}

uint64_t anomaly(const Decoder& decoder, const std::string& name) {
  auto it = decoder.anomalies().find(name);
  return it == decoder.anomalies().end() ? 0 : it->second;
}

// Every prefix of a frame, each in a heap block of exactly that size so the
// sanitizer catches a read past captured_length.
void decode_every_prefix(const Bytes& bytes, int link) {
  Decoder decoder;
  for (size_t n = 0; n <= bytes.size(); ++n) {
    Bytes prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    prefix.shrink_to_fit();
    Frame frame = frame_of(prefix, link, static_cast<uint32_t>(bytes.size()));
    frame.captured_length = static_cast<uint32_t>(n);
    Packet packet;
    decoder.decode(frame, &packet);
  }
}

TEST(Decoder, EthernetIpv4Tcp) {
  Bytes bytes = join({kMacs, {0x08, 0x00}, kIpv4Tcp});  // 14 + 44 = 58 bytes
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decoder.decode(frame_of(bytes, link_type::kEthernet), &packet),
            DecodeStatus::kPacket);
  expect_helo_packet(packet);
  EXPECT_EQ(packet.captured_length, 58u);
  EXPECT_EQ(packet.time, seconds(1000));
  EXPECT_TRUE(decoder.anomalies().empty());
  decode_every_prefix(bytes, link_type::kEthernet);
}

TEST(Decoder, EthernetPaddingIsNotPayload) {
  // A short frame padded to the 60-byte minimum: total length 44 still rules.
  Bytes bytes = join({kMacs, {0x08, 0x00}, kIpv4Tcp, Bytes(2, 0)});
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decoder.decode(frame_of(bytes, link_type::kEthernet), &packet),
            DecodeStatus::kPacket);
  expect_helo_packet(packet);
}

TEST(Decoder, Vlan) {
  // 0x8100 tag: TCI 0x0064 (VLAN 100), then EtherType 0x0800.
  Bytes bytes = join({kMacs, {0x81, 0x00, 0x00, 0x64, 0x08, 0x00}, kIpv4Tcp});
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decoder.decode(frame_of(bytes, link_type::kEthernet), &packet),
            DecodeStatus::kPacket);
  expect_helo_packet(packet);
  decode_every_prefix(bytes, link_type::kEthernet);
}

TEST(Decoder, QinQWithEveryTagType) {
  // Outer 802.1ad tag 0x88a8 (VLAN 10), old-style 0x9100 (VLAN 20), inner 0x8100
  // (VLAN 30), then IPv4: 14 + 3*4 = 26 bytes of link layer.
  Bytes bytes = join({kMacs,
                      {0x88, 0xa8, 0x00, 0x0a, 0x91, 0x00, 0x00, 0x14, 0x81, 0x00, 0x00, 0x1e,
                       0x08, 0x00},
                      kIpv4Tcp});
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decoder.decode(frame_of(bytes, link_type::kEthernet), &packet),
            DecodeStatus::kPacket);
  expect_helo_packet(packet);
  decode_every_prefix(bytes, link_type::kEthernet);
}

TEST(Decoder, TooManyVlanTagsIsMalformed) {
  Bytes bytes = kMacs;
  for (int i = 0; i < 9; ++i) bytes.insert(bytes.end(), {0x81, 0x00, 0x00, 0x01});
  bytes.insert(bytes.end(), {0x08, 0x00});
  bytes.insert(bytes.end(), kIpv4Tcp.begin(), kIpv4Tcp.end());
  Decoder decoder;
  Packet packet;
  EXPECT_EQ(decoder.decode(frame_of(bytes, link_type::kEthernet), &packet),
            DecodeStatus::kMalformed);
  EXPECT_EQ(anomaly(decoder, "vlan_too_deep"), 1u);
}

TEST(Decoder, LinuxSll) {
  // Packet type 0 (to us), ARPHRD 1 (Ethernet), address length 6, address
  // 66:77:88:99:aa:bb plus 2 bytes of padding, protocol 0x0800: 16 bytes.
  Bytes bytes = join({{0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
                       0x00, 0x00, 0x08, 0x00},
                      kIpv4Tcp});
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decoder.decode(frame_of(bytes, link_type::kLinuxSll), &packet),
            DecodeStatus::kPacket);
  expect_helo_packet(packet);
  decode_every_prefix(bytes, link_type::kLinuxSll);
}

TEST(Decoder, LinuxSll2) {
  // Protocol 0x0800 first, reserved 0, interface index 2, ARPHRD 1, packet type 0,
  // address length 6, 8 address bytes: 20 bytes.
  Bytes bytes = join({{0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x06,
                       0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x00, 0x00},
                      kIpv4Tcp});
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decoder.decode(frame_of(bytes, link_type::kLinuxSll2), &packet),
            DecodeStatus::kPacket);
  expect_helo_packet(packet);
  decode_every_prefix(bytes, link_type::kLinuxSll2);
}

TEST(Decoder, NullLoopbackBothByteOrders) {
  Decoder decoder;
  Packet packet;
  // AF_INET = 2 written by a little-endian host.
  Bytes little = join({{0x02, 0x00, 0x00, 0x00}, kIpv4Tcp});
  ASSERT_EQ(decoder.decode(frame_of(little, link_type::kNull), &packet), DecodeStatus::kPacket);
  expect_helo_packet(packet);
  // AF_INET = 2 written by a big-endian host.
  Bytes big = join({{0x00, 0x00, 0x00, 0x02}, kIpv4Tcp});
  ASSERT_EQ(decoder.decode(frame_of(big, link_type::kNull), &packet), DecodeStatus::kPacket);
  expect_helo_packet(packet);
  // OpenBSD LOOP, network order.
  ASSERT_EQ(decoder.decode(frame_of(big, link_type::kLoop), &packet), DecodeStatus::kPacket);
  // Family 7 is neither IPv4 nor IPv6.
  Bytes other = join({{0x07, 0x00, 0x00, 0x00}, kIpv4Tcp});
  EXPECT_EQ(decoder.decode(frame_of(other, link_type::kNull), &packet), DecodeStatus::kNotIp);
  EXPECT_EQ(decoder.not_ip(), 1u);
  decode_every_prefix(little, link_type::kNull);
}

// IPv6 2001:db8::1 -> 2001:db8::2 through hop-by-hop, destination options and
// routing headers to TCP 1025 -> 587 with a 4-byte payload.
const Bytes kIpv6WithExtensions = {
    0x60, 0x00, 0x00, 0x00,  // version 6, class 0, flow 0
    0x00, 0x30, 0x00, 0x40,  // payload 0x30 = 48 = 8+8+8+20+4; next 0 (hop-by-hop); hop limit 64
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,  // source 2001:db8::1
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,  // destination 2001:db8::2
    0x3c, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00,  // hop-by-hop: next 60, length (0+1)*8, PadN
    0x2b, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00,  // destination options: next 43, 8 bytes
    0x06, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,  // routing: next 6 (TCP), 8 bytes, type 4
    0x04, 0x01, 0x02, 0x4b,  // ports 0x0401 = 1025 -> 0x024b = 587
    0x00, 0x00, 0x00, 0x01,  // sequence 1
    0x00, 0x00, 0x00, 0x00,  // acknowledgment 0
    0x50, 0x02, 0xff, 0xff,  // data offset 5, flags SYN, window 65535
    0x00, 0x00, 0x00, 0x00,  // checksum, urgent
    'E',  'H',  'L',  'O',
};

TEST(Decoder, RawIpv6WithExtensionHeaders) {
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decoder.decode(frame_of(kIpv6WithExtensions, link_type::kRaw), &packet),
            DecodeStatus::kPacket);
  EXPECT_EQ(packet.source.to_string(), "2001:db8::1");
  EXPECT_EQ(packet.destination.to_string(), "2001:db8::2");
  EXPECT_EQ(packet.protocol, ip_protocol::kTcp);
  EXPECT_EQ(packet.ip_length, 88u);  // 40 + 48
  EXPECT_EQ(packet.source_port, 1025);
  EXPECT_EQ(packet.destination_port, 587);
  EXPECT_EQ(packet.tcp_flags, tcp_flag::kSyn);
  EXPECT_EQ(packet.window, 65535);
  EXPECT_EQ(text(packet.payload), "EHLO");
  // The same bytes under the IPv6-only link type and under BSD NULL (AF_INET6 = 30
  // on macOS, little-endian host).
  ASSERT_EQ(decoder.decode(frame_of(kIpv6WithExtensions, link_type::kIpv6), &packet),
            DecodeStatus::kPacket);
  Bytes null_frame = join({{0x1e, 0x00, 0x00, 0x00}, kIpv6WithExtensions});
  ASSERT_EQ(decoder.decode(frame_of(null_frame, link_type::kNull), &packet),
            DecodeStatus::kPacket);
  EXPECT_EQ(packet.destination_port, 587);
  decode_every_prefix(kIpv6WithExtensions, link_type::kRaw);
}

TEST(Decoder, Ipv6ExtensionHeaderPastPayloadIsMalformed) {
  Bytes bytes = kIpv6WithExtensions;
  bytes[40 + 16 + 1] = 9;  // routing header claims (9+1)*8 = 80 bytes; only 24 + 4 remain
  Decoder decoder;
  Packet packet;
  EXPECT_EQ(decoder.decode(frame_of(bytes, link_type::kRaw), &packet), DecodeStatus::kMalformed);
  EXPECT_EQ(anomaly(decoder, "ipv6_truncated_extension_header"), 1u);
}

// IPv4 10.1.1.1 -> 10.2.2.2, UDP 5353 -> 53, 24-byte datagram (8 header + 16 data)
// sent as two fragments with id 0x4242.
const Bytes kFirstFragment = {
    0x45, 0x00, 0x00, 0x24,  // total length 0x24 = 36 = 20 + 16
    0x42, 0x42, 0x20, 0x00,  // id 0x4242; MF set, offset 0
    0x40, 0x11, 0x00, 0x00,  // TTL 64, protocol 17 (UDP)
    0x0a, 0x01, 0x01, 0x01, 0x0a, 0x02, 0x02, 0x02,
    0x14, 0xe9, 0x00, 0x35,  // UDP 0x14e9 = 5353 -> 53
    0x00, 0x18, 0x00, 0x00,  // UDP length 0x18 = 24, checksum 0
    'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H',
};
const Bytes kSecondFragment = {
    0x45, 0x00, 0x00, 0x1c,  // total length 28 = 20 + 8
    0x42, 0x42, 0x00, 0x02,  // no MF, offset 2 * 8 = 16
    0x40, 0x11, 0x00, 0x00,
    0x0a, 0x01, 0x01, 0x01, 0x0a, 0x02, 0x02, 0x02,
    'I', 'J', 'K', 'L', 'M', 'N', 'O', 'P',
};

void expect_reassembled_udp(const Packet& packet) {
  EXPECT_EQ(packet.source.to_string(), "10.1.1.1");
  EXPECT_EQ(packet.protocol, ip_protocol::kUdp);
  EXPECT_EQ(packet.source_port, 5353);
  EXPECT_EQ(packet.destination_port, 53);
  EXPECT_EQ(packet.ip_length, 44u);  // 20 header + 24 reassembled
  EXPECT_EQ(text(packet.payload), "ABCDEFGHIJKLMNOP");
  EXPECT_EQ(packet.payload_length, 16u);
}

TEST(Decoder, Ipv4FragmentsInOrder) {
  Decoder decoder;
  Packet packet;
  EXPECT_EQ(decoder.decode(frame_of(kFirstFragment, link_type::kRaw), &packet),
            DecodeStatus::kFragmentHeld);
  ASSERT_EQ(decoder.decode(frame_of(kSecondFragment, link_type::kRaw), &packet),
            DecodeStatus::kPacket);
  expect_reassembled_udp(packet);
  EXPECT_TRUE(decoder.anomalies().empty());
}

TEST(Decoder, Ipv4FragmentsOutOfOrder) {
  Decoder decoder;
  Packet packet;
  // The second piece alone: no ports may be read from it.
  EXPECT_EQ(decoder.decode(frame_of(kSecondFragment, link_type::kRaw), &packet),
            DecodeStatus::kFragmentHeld);
  EXPECT_EQ(packet.source_port, 0);
  ASSERT_EQ(decoder.decode(frame_of(kFirstFragment, link_type::kRaw), &packet),
            DecodeStatus::kPacket);
  expect_reassembled_udp(packet);
}

TEST(Decoder, Ipv4FragmentDuplicateIsHarmless) {
  Decoder decoder;
  Packet packet;
  decoder.decode(frame_of(kFirstFragment, link_type::kRaw), &packet);
  EXPECT_EQ(decoder.decode(frame_of(kFirstFragment, link_type::kRaw), &packet),
            DecodeStatus::kFragmentHeld);
  ASSERT_EQ(decoder.decode(frame_of(kSecondFragment, link_type::kRaw), &packet),
            DecodeStatus::kPacket);
  expect_reassembled_udp(packet);
  EXPECT_EQ(anomaly(decoder, "fragment_overlap"), 0u);
}

TEST(Decoder, Ipv4OverlappingFragmentWithOtherBytes) {
  // Offset 1 * 8 = 8, 8 bytes, MF: covers "ABCDEFGH" of the first piece with "XXXXXXXX".
  const Bytes overlap = {
      0x45, 0x00, 0x00, 0x1c, 0x42, 0x42, 0x20, 0x01, 0x40, 0x11, 0x00, 0x00,
      0x0a, 0x01, 0x01, 0x01, 0x0a, 0x02, 0x02, 0x02,
      'X',  'X',  'X',  'X',  'X',  'X',  'X',  'X',
  };
  Decoder decoder;
  Packet packet;
  decoder.decode(frame_of(kFirstFragment, link_type::kRaw), &packet);
  EXPECT_EQ(decoder.decode(frame_of(overlap, link_type::kRaw), &packet),
            DecodeStatus::kMalformed);
  EXPECT_EQ(anomaly(decoder, "fragment_overlap"), 1u);
  // The first copy stands; the datagram still completes with the original bytes.
  ASSERT_EQ(decoder.decode(frame_of(kSecondFragment, link_type::kRaw), &packet),
            DecodeStatus::kPacket);
  expect_reassembled_udp(packet);
}

TEST(Decoder, FragmentsTimeOutByPacketTime) {
  Decoder decoder;  // 30 s timeout
  Packet packet;
  Frame first = frame_of(kFirstFragment, link_type::kRaw);
  first.time = seconds(100);
  decoder.decode(first, &packet);
  Frame second = frame_of(kSecondFragment, link_type::kRaw);
  second.time = seconds(131);
  EXPECT_EQ(decoder.decode(second, &packet), DecodeStatus::kFragmentHeld);
  EXPECT_EQ(anomaly(decoder, "fragment_timeout"), 1u);
}

TEST(Decoder, FragmentLimitsAreEnforced) {
  DecodeLimits limits;
  limits.max_fragment_datagrams = 1;
  Decoder decoder(limits);
  Packet packet;
  decoder.decode(frame_of(kFirstFragment, link_type::kRaw), &packet);
  Bytes other = kFirstFragment;
  other[5] = 0x43;  // id 0x4243: a second datagram
  EXPECT_EQ(decoder.decode(frame_of(other, link_type::kRaw), &packet), DecodeStatus::kMalformed);
  EXPECT_EQ(anomaly(decoder, "fragment_table_full"), 1u);
}

TEST(Decoder, Ipv6Fragments) {
  // 2001:db8::1 -> 2001:db8::2, UDP 1000 -> 53 with 8 data bytes, in two pieces:
  // 8 bytes (UDP header) at offset 0 with M set, 8 bytes at offset 8.
  const Bytes header = {0x60, 0x00, 0x00, 0x00, 0x00, 0x10, 0x2c, 0x40,  // payload 16, next 44
                        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
                        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};
  Bytes first = join({header,
                      {0x11, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07},  // next 17, offset 0, M
                      {0x03, 0xe8, 0x00, 0x35, 0x00, 0x10, 0x00, 0x00}});  // UDP length 16
  Bytes second = join({header,
                       {0x11, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x07},  // offset 8, last
                       {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}});
  Decoder decoder;
  Packet packet;
  EXPECT_EQ(decoder.decode(frame_of(second, link_type::kRaw), &packet),
            DecodeStatus::kFragmentHeld);
  ASSERT_EQ(decoder.decode(frame_of(first, link_type::kRaw), &packet), DecodeStatus::kPacket);
  EXPECT_EQ(packet.protocol, ip_protocol::kUdp);
  EXPECT_EQ(packet.source_port, 1000);
  EXPECT_EQ(packet.destination_port, 53);
  EXPECT_EQ(packet.ip_length, 56u);  // 40 header + 16 reassembled
  EXPECT_EQ(text(packet.payload), "abcdefgh");
}

// IPv6 2001:db8::1 -> 2001:db8::2 fragments of a UDP datagram 1000 -> 53 (id 7):
// `offset` in bytes, `more` for the M flag, `data` the fragment's bytes.
Bytes ipv6_fragment(uint16_t offset, bool more, const Bytes& data) {
  uint16_t payload = static_cast<uint16_t>(8 + data.size());
  uint16_t offset_and_flags = static_cast<uint16_t>(offset | (more ? 1 : 0));
  Bytes header = {0x60, 0x00, 0x00, 0x00, static_cast<uint8_t>(payload >> 8),
                  static_cast<uint8_t>(payload), 0x2c, 0x40,
                  0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
                  0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
                  0x11, 0x00, static_cast<uint8_t>(offset_and_flags >> 8),
                  static_cast<uint8_t>(offset_and_flags), 0x00, 0x00, 0x00, 0x07};
  return join({header, data});
}

TEST(Decoder, Ipv6NonFirstFragmentNeverGivesPorts) {
  // A later piece that happens to start with bytes that look like ports 0x1111 and
  // 0x2222; they must not be read, and the whole datagram carries the real ones.
  Bytes later = ipv6_fragment(8, false, {0x11, 0x11, 0x22, 0x22, 'w', 'x', 'y', 'z'});
  Bytes first = ipv6_fragment(0, true, {0x03, 0xe8, 0x00, 0x35, 0x00, 0x10, 0x00, 0x00});
  Decoder decoder;
  Packet packet;
  EXPECT_EQ(decoder.decode(frame_of(later, link_type::kRaw), &packet),
            DecodeStatus::kFragmentHeld);
  EXPECT_EQ(packet.source_port, 0);
  EXPECT_EQ(packet.destination_port, 0);
  ASSERT_EQ(decoder.decode(frame_of(first, link_type::kRaw), &packet), DecodeStatus::kPacket);
  EXPECT_EQ(packet.source_port, 1000);
  EXPECT_EQ(packet.destination_port, 53);
  EXPECT_EQ(packet.payload_length, 8u);
}

TEST(Decoder, Ipv6OverlappingFragmentWithOtherBytesIsFlagged) {
  Bytes first = ipv6_fragment(0, true, {0x03, 0xe8, 0x00, 0x35, 0x00, 0x18, 0x00, 0x00,
                                        'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'});
  // Offset 8 rewrites "abcdefgh" as "XXXXXXXX" and runs on: flagged, not merged.
  Bytes rewrite = ipv6_fragment(8, true, Bytes(16, 'X'));
  Bytes last = ipv6_fragment(16, false, {'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p'});
  Decoder decoder;
  Packet packet;
  EXPECT_EQ(decoder.decode(frame_of(first, link_type::kRaw), &packet),
            DecodeStatus::kFragmentHeld);
  EXPECT_EQ(decoder.decode(frame_of(rewrite, link_type::kRaw), &packet),
            DecodeStatus::kMalformed);
  EXPECT_EQ(anomaly(decoder, "fragment_overlap"), 1u);
  ASSERT_EQ(decoder.decode(frame_of(last, link_type::kRaw), &packet), DecodeStatus::kPacket);
  EXPECT_EQ(text(packet.payload), "abcdefghijklmnop");
}

TEST(Decoder, TruncatedTcpHeader) {
  // Total length 30: 20 of IP header and only 10 of TCP header.
  Bytes bytes(kIpv4Tcp.begin(), kIpv4Tcp.begin() + 30);
  bytes[3] = 30;
  Decoder decoder;
  Packet packet;
  EXPECT_EQ(decoder.decode(frame_of(bytes, link_type::kRaw), &packet), DecodeStatus::kMalformed);
  EXPECT_EQ(anomaly(decoder, "tcp_truncated_header"), 1u);
}

// A SYN with 4 bytes of options (MSS), 20 + 24 = 44 bytes, of which a snap length
// kept `kept` bytes while the wire carried all 44.
Bytes snapped_syn(size_t kept) {
  Bytes bytes = {0x45, 0x00, 0x00, 0x2c, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00,
                 0xc0, 0xa8, 0x01, 0x0a, 0x0a, 0x00, 0x00, 0x01,
                 0xc3, 0x50, 0x00, 0x19, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00,
                 0x60, 0x02, 0x72, 0x10, 0x00, 0x00, 0x00, 0x00,  // data offset 6, SYN
                 0x02, 0x04, 0x05, 0xb4};                          // MSS 1460
  bytes.resize(kept);
  return bytes;
}

TEST(Decoder, TcpOptionsCutBySnapLengthKeepTheHeaderFields) {
  Bytes bytes = snapped_syn(42);  // 2 of the 4 option bytes
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decoder.decode(frame_of(bytes, link_type::kRaw, 44), &packet),
            DecodeStatus::kPacket);
  EXPECT_EQ(packet.source_port, 50000);
  EXPECT_EQ(packet.destination_port, 25);
  EXPECT_EQ(packet.tcp_flags, tcp_flag::kSyn);
  EXPECT_EQ(packet.sequence, 100u);
  EXPECT_EQ(packet.ip_length, 44u);
  EXPECT_FALSE(packet.transport_truncated);
  EXPECT_TRUE(packet.payload.empty());
  EXPECT_EQ(packet.payload_length, 0u);
  EXPECT_EQ(anomaly(decoder, "tcp_options_cut_by_snap_length"), 1u);
}

TEST(Decoder, TcpHeaderCutBySnapLengthKeepsThePorts) {
  Bytes bytes = snapped_syn(30);  // 10 of the TCP header's first 20 bytes
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decoder.decode(frame_of(bytes, link_type::kRaw, 44), &packet),
            DecodeStatus::kPacket);
  EXPECT_EQ(packet.protocol, ip_protocol::kTcp);
  EXPECT_EQ(packet.source_port, 50000);
  EXPECT_EQ(packet.destination_port, 25);
  EXPECT_TRUE(packet.transport_truncated);
  EXPECT_EQ(packet.tcp_flags, 0);  // not captured, not "no flags"
  EXPECT_TRUE(packet.payload.empty());
  EXPECT_EQ(packet.payload_length, 0u);
  EXPECT_EQ(anomaly(decoder, "tcp_header_cut_by_snap_length"), 1u);
  decode_every_prefix(snapped_syn(44), link_type::kRaw);
}

TEST(Decoder, TcpHeaderCutWithoutThePortsIsMalformed) {
  Bytes bytes = snapped_syn(23);  // 3 bytes of TCP: not even both ports
  Decoder decoder;
  Packet packet;
  EXPECT_EQ(decoder.decode(frame_of(bytes, link_type::kRaw, 44), &packet),
            DecodeStatus::kMalformed);
  EXPECT_EQ(anomaly(decoder, "tcp_truncated_header"), 1u);
}

TEST(Decoder, TcpHeaderCutBecauseTheIpLengthLiesIsMalformed) {
  // The wire had only these 30 bytes, yet the IP header claims 44: no snap length
  // cut the TCP header, the IP header lies about it.
  Bytes bytes = snapped_syn(30);
  Decoder decoder;
  Packet packet;
  EXPECT_EQ(decoder.decode(frame_of(bytes, link_type::kRaw, 30), &packet),
            DecodeStatus::kMalformed);
  EXPECT_EQ(anomaly(decoder, "tcp_truncated_header"), 1u);
  EXPECT_EQ(anomaly(decoder, "ipv4_total_length_exceeds_capture"), 1u);
  // Options cut the same way are a lie too.
  EXPECT_EQ(decoder.decode(frame_of(snapped_syn(42), link_type::kRaw, 42), &packet),
            DecodeStatus::kMalformed);
  EXPECT_EQ(anomaly(decoder, "tcp_truncated_header"), 2u);
}

TEST(Decoder, TcpDataOffsetBelowFive) {
  Bytes bytes = kIpv4Tcp;
  bytes[32] = 0x40;  // data offset 4 = 16 bytes, less than the fixed header
  Decoder decoder;
  Packet packet;
  EXPECT_EQ(decoder.decode(frame_of(bytes, link_type::kRaw), &packet), DecodeStatus::kMalformed);
  EXPECT_EQ(anomaly(decoder, "tcp_bad_data_offset"), 1u);
}

TEST(Decoder, Ipv4HeaderLengthBelowFive) {
  Bytes bytes = kIpv4Tcp;
  bytes[0] = 0x44;  // IHL 4 = 16 bytes
  Decoder decoder;
  Packet packet;
  EXPECT_EQ(decoder.decode(frame_of(bytes, link_type::kRaw), &packet), DecodeStatus::kMalformed);
  EXPECT_EQ(anomaly(decoder, "ipv4_bad_header_length"), 1u);
}

TEST(Decoder, Ipv4TotalLengthLies) {
  Bytes bytes = kIpv4Tcp;
  bytes[2] = 0x01;
  bytes[3] = 0x00;  // total length 256, but the frame has 44 bytes and was not snapped
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decoder.decode(frame_of(bytes, link_type::kRaw), &packet), DecodeStatus::kPacket);
  EXPECT_EQ(packet.ip_length, 256u);
  EXPECT_EQ(text(packet.payload), "HELO");  // only what is there
  EXPECT_EQ(packet.payload_length, 216u);   // 256 - 20 - 20
  EXPECT_EQ(anomaly(decoder, "ipv4_total_length_exceeds_capture"), 1u);
}

TEST(Decoder, SnappedFrameIsNotAnAnomaly) {
  Bytes bytes = kIpv4Tcp;
  bytes[2] = 0x01;
  bytes[3] = 0x00;  // total length 256; the wire says 256 bytes, the snap length kept 44
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decoder.decode(frame_of(bytes, link_type::kRaw, 256), &packet),
            DecodeStatus::kPacket);
  EXPECT_EQ(packet.payload.size(), 4u);
  EXPECT_EQ(packet.payload_length, 216u);
  EXPECT_TRUE(decoder.anomalies().empty());
}

TEST(Decoder, TotalLengthShorterThanHeader) {
  Bytes bytes = kIpv4Tcp;
  bytes[3] = 16;  // total length 16 < IHL 20
  Decoder decoder;
  Packet packet;
  EXPECT_EQ(decoder.decode(frame_of(bytes, link_type::kRaw), &packet), DecodeStatus::kMalformed);
  EXPECT_EQ(anomaly(decoder, "ipv4_bad_total_length"), 1u);
}

TEST(Decoder, UdpLengthLargerThanIpPayload) {
  Bytes bytes = kFirstFragment;
  bytes[6] = 0x00;   // MF cleared: a whole 36-byte datagram with 16 bytes of IP payload
  bytes[25] = 0x40;  // UDP length 64 > 16 bytes of IP payload
  Decoder decoder;
  Packet packet;
  EXPECT_EQ(decoder.decode(frame_of(bytes, link_type::kRaw), &packet), DecodeStatus::kMalformed);
  EXPECT_EQ(anomaly(decoder, "udp_bad_length"), 1u);
}

TEST(Decoder, IcmpTypeAndCodeAsPorts) {
  const Bytes icmp = {
      0x45, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x01, 0x00, 0x00,  // 28 bytes, ICMP
      0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,
      0x03, 0x0d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // type 3 (unreachable), code 13
  };
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decoder.decode(frame_of(icmp, link_type::kIpv4), &packet), DecodeStatus::kPacket);
  EXPECT_EQ(packet.protocol, ip_protocol::kIcmp);
  EXPECT_EQ(packet.source_port, 3);
  EXPECT_EQ(packet.destination_port, 13);
}

TEST(Decoder, OtherProtocolHasNoPorts) {
  Bytes bytes = kIpv4Tcp;
  bytes[9] = 50;  // ESP
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decoder.decode(frame_of(bytes, link_type::kRaw), &packet), DecodeStatus::kPacket);
  EXPECT_EQ(packet.protocol, 50);
  EXPECT_EQ(packet.source_port, 0);
  EXPECT_EQ(packet.payload.size(), 24u);
}

TEST(Decoder, ArpIsNotIp) {
  Bytes bytes = join({kMacs, {0x08, 0x06}, Bytes(28, 0)});
  Decoder decoder;
  Packet packet;
  EXPECT_EQ(decoder.decode(frame_of(bytes, link_type::kEthernet), &packet), DecodeStatus::kNotIp);
  EXPECT_EQ(decoder.not_ip(), 1u);
  EXPECT_EQ(decoder.frames(), 1u);
}

TEST(Decoder, UnknownLinkType) {
  Decoder decoder;
  Packet packet;
  EXPECT_EQ(decoder.decode(frame_of(kIpv4Tcp, 147), &packet), DecodeStatus::kUnsupportedLink);
  EXPECT_EQ(anomaly(decoder, "unsupported_link_type"), 1u);
}

TEST(Decoder, RawWithWrongVersion) {
  Bytes bytes = kIpv4Tcp;
  bytes[0] = 0x55;
  Decoder decoder;
  Packet packet;
  EXPECT_EQ(decoder.decode(frame_of(bytes, link_type::kRaw), &packet), DecodeStatus::kMalformed);
  EXPECT_EQ(anomaly(decoder, "ip_bad_version"), 1u);
}

}  // namespace
}  // namespace spamtap
