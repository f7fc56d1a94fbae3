// Decoder tests for what wraps an IP packet beyond the plain link layers: NFLOG,
// IP in IP, GRE and ERSPAN. In every case the Packet must describe the innermost
// IP datagram, which is what a host at the end of the tunnel sent.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "decode/decoder.hpp"

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

const Bytes kMacs = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb};

// IPv4 192.168.1.10 -> 10.0.0.1, TCP 50000 -> 25 with PSH|ACK carrying "HELO":
// 20 + 20 + 4 = 44 bytes.
const Bytes kIpv4Tcp = {
    0x45, 0x00, 0x00, 0x2c, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00,
    0xc0, 0xa8, 0x01, 0x0a, 0x0a, 0x00, 0x00, 0x01,
    0xc3, 0x50, 0x00, 0x19, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0xc8,
    0x50, 0x18, 0x72, 0x10, 0x00, 0x00, 0x00, 0x00, 'H', 'E', 'L', 'O',
};

// IPv6 2001:db8::1 -> 2001:db8::2, TCP 1025 -> 587 with SYN and "EHLO": 40 + 24 bytes.
const Bytes kIpv6Tcp = {
    0x60, 0x00, 0x00, 0x00, 0x00, 0x18, 0x06, 0x40,  // payload 24, next header TCP
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
    0x04, 0x01, 0x02, 0x4b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x50, 0x02, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 'E', 'H', 'L', 'O',
};

// An outer IPv4 header 172.16.0.1 -> 172.16.0.2 around `payload`.
Bytes outer_ipv4(uint8_t protocol, const Bytes& payload) {
  size_t total = 20 + payload.size();
  Bytes header = {0x45, 0x00, static_cast<uint8_t>(total >> 8), static_cast<uint8_t>(total),
                  0x00, 0x07, 0x00, 0x00, 0x40, protocol, 0x00, 0x00,
                  172, 16, 0, 1, 172, 16, 0, 2};
  return join({header, payload});
}

// An outer IPv6 header fd00::1 -> fd00::2 around `payload`.
Bytes outer_ipv6(uint8_t next_header, const Bytes& payload) {
  Bytes header = {0x60, 0x00, 0x00, 0x00, static_cast<uint8_t>(payload.size() >> 8),
                  static_cast<uint8_t>(payload.size()), next_header, 0x40,
                  0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
                  0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};
  return join({header, payload});
}

Bytes ethernet(uint16_t ether_type, const Bytes& payload) {
  return join({kMacs, {static_cast<uint8_t>(ether_type >> 8), static_cast<uint8_t>(ether_type)},
               payload});
}

Frame frame_of(const Bytes& bytes, int link, uint32_t wire = 0) {
  Frame frame;
  frame.data = bytes.data();
  frame.captured_length = static_cast<uint32_t>(bytes.size());
  frame.wire_length = wire != 0 ? wire : frame.captured_length;
  frame.link_type = link;
  frame.time = seconds(2000);
  return frame;
}

uint64_t anomaly(const Decoder& decoder, const std::string& name) {
  auto it = decoder.anomalies().find(name);
  return it == decoder.anomalies().end() ? 0 : it->second;
}

void expect_inner_ipv4(const Packet& packet) {
  EXPECT_EQ(packet.source.to_string(), "192.168.1.10");
  EXPECT_EQ(packet.destination.to_string(), "10.0.0.1");
  EXPECT_EQ(packet.protocol, ip_protocol::kTcp);
  EXPECT_EQ(packet.ip_length, 44u);  // the inner datagram, as tshark's innermost ip.len
  EXPECT_EQ(packet.source_port, 50000);
  EXPECT_EQ(packet.destination_port, 25);
  EXPECT_EQ(packet.tcp_flags, tcp_flag::kPsh | tcp_flag::kAck);
  EXPECT_EQ(text(packet.payload), "HELO");
  EXPECT_EQ(packet.payload_length, 4u);
}

void expect_inner_ipv6(const Packet& packet) {
  EXPECT_EQ(packet.source.to_string(), "2001:db8::1");
  EXPECT_EQ(packet.destination.to_string(), "2001:db8::2");
  EXPECT_EQ(packet.protocol, ip_protocol::kTcp);
  EXPECT_EQ(packet.ip_length, 64u);  // 40 + 24
  EXPECT_EQ(packet.source_port, 1025);
  EXPECT_EQ(packet.destination_port, 587);
  EXPECT_EQ(packet.tcp_flags, tcp_flag::kSyn);
  EXPECT_EQ(text(packet.payload), "EHLO");
}

// Every prefix of a frame in a heap block of exactly that size, so the sanitizer
// catches a read past the captured length; the wire length stays the whole frame.
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

DecodeStatus decode_one(const Bytes& bytes, int link, Packet* packet, Decoder* decoder) {
  return decoder->decode(frame_of(bytes, link), packet);
}

// --- NFLOG -----------------------------------------------------------------------

// NFLOG header (family, version 0, resource id 0) and TLVs written little-endian,
// as an x86 host logs them: a packet header (type 1), a prefix (type 10, 5 bytes
// padded to 8), the payload (type 9), and a uid (type 11) after it.
Bytes nflog_frame(uint8_t family, const Bytes& ip, bool big_endian) {
  auto tlv = [&](uint16_t type, const Bytes& value) {
    uint16_t length = static_cast<uint16_t>(4 + value.size());
    Bytes out;
    if (big_endian) {
      out = {static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length),
             static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type)};
    } else {
      out = {static_cast<uint8_t>(length), static_cast<uint8_t>(length >> 8),
             static_cast<uint8_t>(type), static_cast<uint8_t>(type >> 8)};
    }
    out.insert(out.end(), value.begin(), value.end());
    while (out.size() % 4 != 0) out.push_back(0);
    return out;
  };
  return join({{family, 0x00, 0x00, 0x00},
               tlv(1, {0x08, 0x00, 0x03, 0x00}),
               tlv(10, {'d', 'r', 'o', 'p', 0}),
               tlv(9, ip),
               tlv(11, {0x00, 0x00, 0x03, 0xe8})});
}

TEST(Nflog, Ipv4PayloadLittleEndian) {
  Bytes bytes = nflog_frame(2, kIpv4Tcp, false);
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decode_one(bytes, link_type::kNflog, &packet, &decoder), DecodeStatus::kPacket);
  expect_inner_ipv4(packet);
  EXPECT_TRUE(decoder.anomalies().empty());
  decode_every_prefix(bytes, link_type::kNflog);
}

TEST(Nflog, Ipv4PayloadBigEndian) {
  Bytes bytes = nflog_frame(2, kIpv4Tcp, true);
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decode_one(bytes, link_type::kNflog, &packet, &decoder), DecodeStatus::kPacket);
  expect_inner_ipv4(packet);
  decode_every_prefix(bytes, link_type::kNflog);
}

TEST(Nflog, Ipv6Payload) {
  Bytes bytes = nflog_frame(10, kIpv6Tcp, false);
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decode_one(bytes, link_type::kNflog, &packet, &decoder), DecodeStatus::kPacket);
  expect_inner_ipv6(packet);
}

TEST(Nflog, PayloadCutBySnapLength) {
  // Header 4 + packet header 8 + prefix 12 + payload TLV header 4 = 28 bytes before
  // the IP packet; keep 42 of its 44 bytes: the payload is "HE" of "HELO".
  Bytes whole = nflog_frame(2, kIpv4Tcp, false);
  Bytes bytes(whole.begin(), whole.begin() + 28 + 42);
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decoder.decode(frame_of(bytes, link_type::kNflog,
                                    static_cast<uint32_t>(whole.size())), &packet),
            DecodeStatus::kPacket);
  EXPECT_EQ(text(packet.payload), "HE");
  EXPECT_EQ(packet.payload_length, 4u);
  EXPECT_TRUE(decoder.anomalies().empty());
}

TEST(Nflog, EntryWithoutPayloadIsNotIp) {
  Bytes bytes = {0x02, 0x00, 0x00, 0x00, 0x08, 0x00, 0x01, 0x00, 0x08, 0x00, 0x03, 0x00};
  Decoder decoder;
  Packet packet;
  EXPECT_EQ(decode_one(bytes, link_type::kNflog, &packet, &decoder), DecodeStatus::kNotIp);
  EXPECT_TRUE(decoder.anomalies().empty());
}

TEST(Nflog, BrokenTlvsAreMalformed) {
  Decoder decoder;
  Packet packet;
  // A TLV length of 2 is shorter than the TLV header.
  Bytes short_tlv = {0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x09, 0x00, 0x45, 0x00};
  EXPECT_EQ(decode_one(short_tlv, link_type::kNflog, &packet, &decoder),
            DecodeStatus::kMalformed);
  // Type 0 in either byte order.
  Bytes no_type = {0x02, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0, 0, 0, 0};
  EXPECT_EQ(decode_one(no_type, link_type::kNflog, &packet, &decoder),
            DecodeStatus::kMalformed);
  // A payload TLV claiming 0x400 bytes in a frame that was 52 bytes on the wire.
  Bytes lying = join({{0x02, 0x00, 0x00, 0x00, 0x00, 0x04, 0x09, 0x00}, kIpv4Tcp});
  EXPECT_EQ(decode_one(lying, link_type::kNflog, &packet, &decoder), DecodeStatus::kMalformed);
  EXPECT_EQ(anomaly(decoder, "nflog_bad_tlv"), 3u);
  // Only the NFLOG header.
  EXPECT_EQ(decode_one({0x02, 0x00, 0x00, 0x00}, link_type::kNflog, &packet, &decoder),
            DecodeStatus::kMalformed);
  EXPECT_EQ(anomaly(decoder, "nflog_truncated"), 1u);
}

// --- IP in IP ----------------------------------------------------------------------

TEST(Tunnel, Ipv4InIpv4) {
  Bytes bytes = ethernet(0x0800, outer_ipv4(4, kIpv4Tcp));  // 14 + 20 + 44 = 78
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decode_one(bytes, link_type::kEthernet, &packet, &decoder), DecodeStatus::kPacket);
  expect_inner_ipv4(packet);
  EXPECT_EQ(packet.tunnel_depth, 1);
  EXPECT_EQ(packet.wire_length, 78u);  // the frame, not the inner datagram
  EXPECT_EQ(packet.captured_length, 78u);
  EXPECT_TRUE(decoder.anomalies().empty());
  decode_every_prefix(bytes, link_type::kEthernet);
}

TEST(Tunnel, Ipv6InIpv4) {
  Bytes bytes = outer_ipv4(41, kIpv6Tcp);
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decode_one(bytes, link_type::kRaw, &packet, &decoder), DecodeStatus::kPacket);
  expect_inner_ipv6(packet);
  EXPECT_EQ(packet.tunnel_depth, 1);
  decode_every_prefix(bytes, link_type::kRaw);
}

TEST(Tunnel, Ipv6InIpv6AndIpv4InIpv6) {
  Decoder decoder;
  Packet packet;
  // The packet points into the frame, so each frame outlives its checks.
  Bytes six_in_six = outer_ipv6(41, kIpv6Tcp);
  ASSERT_EQ(decode_one(six_in_six, link_type::kRaw, &packet, &decoder), DecodeStatus::kPacket);
  expect_inner_ipv6(packet);
  Bytes four_in_six = outer_ipv6(4, kIpv4Tcp);
  ASSERT_EQ(decode_one(four_in_six, link_type::kRaw, &packet, &decoder), DecodeStatus::kPacket);
  expect_inner_ipv4(packet);
  decode_every_prefix(six_in_six, link_type::kRaw);
}

TEST(Tunnel, DepthIsBounded) {
  Bytes four = kIpv4Tcp;
  for (int i = 0; i < 4; ++i) four = outer_ipv4(4, four);
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decode_one(four, link_type::kRaw, &packet, &decoder), DecodeStatus::kPacket);
  EXPECT_EQ(packet.tunnel_depth, 4);
  expect_inner_ipv4(packet);

  Bytes five = outer_ipv4(4, four);
  EXPECT_EQ(decode_one(five, link_type::kRaw, &packet, &decoder), DecodeStatus::kMalformed);
  EXPECT_EQ(anomaly(decoder, "tunnel_too_deep"), 1u);
}

TEST(Tunnel, InnerLengthBeyondOuterIsALie) {
  // The inner header claims 0x100 bytes; the outer datagram gives it 44. The frame
  // says it was 1000 bytes on the wire, so only the outer length can expose this.
  Bytes inner = kIpv4Tcp;
  inner[2] = 0x01;
  inner[3] = 0x00;
  Bytes bytes = outer_ipv4(4, inner);
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decoder.decode(frame_of(bytes, link_type::kRaw, 1000), &packet),
            DecodeStatus::kPacket);
  EXPECT_EQ(anomaly(decoder, "ipv4_total_length_exceeds_capture"), 1u);
}

TEST(Tunnel, FragmentedOuterDatagramCarryingIpv4) {
  // The outer datagram (20 + 44) is sent as two pieces: 24 bytes at offset 0 with
  // MF, and 20 bytes at offset 3 * 8 = 24.
  Bytes whole = outer_ipv4(4, kIpv4Tcp);
  Bytes first = join({Bytes(whole.begin(), whole.begin() + 20),
                      Bytes(whole.begin() + 20, whole.begin() + 44)});
  first[3] = 44;    // total length 20 + 24
  first[6] = 0x20;  // MF, offset 0
  Bytes second = join({Bytes(whole.begin(), whole.begin() + 20),
                       Bytes(whole.begin() + 44, whole.end())});
  second[3] = 40;  // 20 + 20
  second[7] = 3;   // offset 3 * 8 = 24, last piece
  Decoder decoder;
  Packet packet;
  EXPECT_EQ(decode_one(first, link_type::kRaw, &packet, &decoder),
            DecodeStatus::kFragmentHeld);
  ASSERT_EQ(decode_one(second, link_type::kRaw, &packet, &decoder), DecodeStatus::kPacket);
  expect_inner_ipv4(packet);
  EXPECT_EQ(packet.tunnel_depth, 1);
}

// --- GRE and ERSPAN ----------------------------------------------------------------

TEST(Tunnel, GreWithChecksumKeyAndSequence) {
  // Flags C|K|S = 0xb000, version 0, protocol 0x0800; then checksum and reserved,
  // key, sequence: 4 + 12 = 16 bytes.
  Bytes gre = join({{0xb0, 0x00, 0x08, 0x00, 0xab, 0xcd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a,
                     0x00, 0x00, 0x00, 0x07},
                    kIpv4Tcp});
  Bytes bytes = ethernet(0x0800, outer_ipv4(47, gre));
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decode_one(bytes, link_type::kEthernet, &packet, &decoder), DecodeStatus::kPacket);
  expect_inner_ipv4(packet);
  EXPECT_EQ(packet.tunnel_depth, 1);
  EXPECT_TRUE(decoder.anomalies().empty());
  decode_every_prefix(bytes, link_type::kEthernet);
}

TEST(Tunnel, GreCarryingIpv6) {
  Bytes bytes = outer_ipv4(47, join({{0x00, 0x00, 0x86, 0xdd}, kIpv6Tcp}));
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decode_one(bytes, link_type::kRaw, &packet, &decoder), DecodeStatus::kPacket);
  expect_inner_ipv6(packet);
}

TEST(Tunnel, GreTransparentEthernetWithVlan) {
  // Protocol 0x6558: an Ethernet frame, here with an 802.1Q tag.
  Bytes inner = join({kMacs, {0x81, 0x00, 0x00, 0x05, 0x08, 0x00}, kIpv4Tcp});
  Bytes bytes = outer_ipv6(47, join({{0x20, 0x00, 0x65, 0x58, 0, 0, 0, 1}, inner}));  // K
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decode_one(bytes, link_type::kRaw, &packet, &decoder), DecodeStatus::kPacket);
  expect_inner_ipv4(packet);
  decode_every_prefix(bytes, link_type::kRaw);
}

TEST(Tunnel, ErspanTypeII) {
  // GRE with S (0x1000) and protocol 0x88be, sequence 5; ERSPAN II header: version
  // 1 with VLAN 100, session 1, index 0; then the mirrored Ethernet frame.
  Bytes gre = join({{0x10, 0x00, 0x88, 0xbe, 0x00, 0x00, 0x00, 0x05},
                    {0x10, 0x64, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00},
                    ethernet(0x0800, kIpv4Tcp)});
  Bytes bytes = ethernet(0x0800, outer_ipv4(47, gre));
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decode_one(bytes, link_type::kEthernet, &packet, &decoder), DecodeStatus::kPacket);
  expect_inner_ipv4(packet);
  decode_every_prefix(bytes, link_type::kEthernet);
}

TEST(Tunnel, ErspanTruncatedMirrorKeepsThePorts) {
  // The session truncated what it copied and set T (0x04 in the third header
  // byte): of a 96-byte datagram, 20 bytes of IP header and 10 of TCP remain.
  Bytes mirrored = kIpv4Tcp;
  mirrored[3] = 0x60;  // the original datagram was 96 bytes
  mirrored.resize(30);
  Bytes gre = join({{0x10, 0x00, 0x88, 0xbe, 0x00, 0x00, 0x00, 0x05},
                    {0x10, 0x64, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00},
                    ethernet(0x0800, mirrored)});
  Bytes bytes = outer_ipv4(47, gre);
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decode_one(bytes, link_type::kRaw, &packet, &decoder), DecodeStatus::kPacket);
  EXPECT_EQ(packet.source_port, 50000);
  EXPECT_EQ(packet.ip_length, 96u);
  EXPECT_TRUE(packet.transport_truncated);
  EXPECT_EQ(anomaly(decoder, "ipv4_total_length_exceeds_capture"), 0u);

  // Without T the same bytes are a lie about the inner length.
  bytes[20 + 8 + 2] = 0x00;
  EXPECT_EQ(decode_one(bytes, link_type::kRaw, &packet, &decoder), DecodeStatus::kMalformed);
  EXPECT_EQ(anomaly(decoder, "ipv4_total_length_exceeds_capture"), 1u);
  decode_every_prefix(bytes, link_type::kRaw);
}

TEST(Tunnel, ErspanTypeIHasNoHeader) {
  Bytes gre = join({{0x00, 0x00, 0x88, 0xbe}, ethernet(0x86dd, kIpv6Tcp)});
  Bytes bytes = outer_ipv4(47, gre);
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decode_one(bytes, link_type::kRaw, &packet, &decoder), DecodeStatus::kPacket);
  expect_inner_ipv6(packet);
}

TEST(Tunnel, ErspanTypeIIIWithPlatformHeader) {
  // ERSPAN III: version 2, session 1, timestamp, SGT, then byte 10 = P/FT/HwID
  // (frame type 0, Ethernet) and byte 11 with O set: 8 platform bytes follow.
  Bytes gre = join({{0x10, 0x00, 0x22, 0xeb, 0x00, 0x00, 0x00, 0x09},
                    {0x20, 0x00, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44, 0x00, 0x00, 0x00, 0x01},
                    Bytes(8, 0xee),
                    ethernet(0x0800, kIpv4Tcp)});
  Bytes bytes = outer_ipv4(47, gre);
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decode_one(bytes, link_type::kRaw, &packet, &decoder), DecodeStatus::kPacket);
  expect_inner_ipv4(packet);
  decode_every_prefix(bytes, link_type::kRaw);
}

TEST(Tunnel, ErspanTypeIIICarryingIp) {
  // Frame type 2 (IP) in bits 6-2 of byte 10: 0x08; no platform header.
  Bytes gre = join({{0x00, 0x00, 0x22, 0xeb},
                    {0x20, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0x00, 0x00, 0x08, 0x00},
                    kIpv6Tcp});
  Bytes bytes = outer_ipv4(47, gre);
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decode_one(bytes, link_type::kRaw, &packet, &decoder), DecodeStatus::kPacket);
  expect_inner_ipv6(packet);
}

TEST(Tunnel, GreCarryingArpStaysTheOuterDatagram) {
  Bytes gre = join({{0x00, 0x00, 0x65, 0x58}, ethernet(0x0806, Bytes(28, 0))});
  Bytes bytes = outer_ipv4(47, gre);
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decode_one(bytes, link_type::kRaw, &packet, &decoder), DecodeStatus::kPacket);
  EXPECT_EQ(packet.source.to_string(), "172.16.0.1");
  EXPECT_EQ(packet.protocol, ip_protocol::kGre);
  EXPECT_EQ(packet.ip_length, bytes.size());
  EXPECT_EQ(packet.tunnel_depth, 0);
  EXPECT_TRUE(decoder.anomalies().empty());
}

TEST(Tunnel, GreVersionOneIsCountedAndKeptOuter) {
  // Enhanced GRE (PPTP): version 1, K set, protocol 0x880b (PPP).
  Bytes gre = {0x20, 0x01, 0x88, 0x0b, 0x00, 0x04, 0x00, 0x01, 0xff, 0x03, 0x00, 0x21};
  Decoder decoder;
  Packet packet;
  ASSERT_EQ(decode_one(outer_ipv4(47, gre), link_type::kRaw, &packet, &decoder),
            DecodeStatus::kPacket);
  EXPECT_EQ(packet.protocol, ip_protocol::kGre);
  EXPECT_EQ(anomaly(decoder, "gre_unsupported_header"), 1u);
}

TEST(Tunnel, GreHeaderLongerThanPayloadIsMalformed) {
  // C|K|S promise 12 more bytes; only 4 follow.
  Bytes gre = {0xb0, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00};
  Decoder decoder;
  Packet packet;
  EXPECT_EQ(decode_one(outer_ipv4(47, gre), link_type::kRaw, &packet, &decoder),
            DecodeStatus::kMalformed);
  EXPECT_EQ(anomaly(decoder, "gre_truncated"), 1u);
}

}  // namespace
}  // namespace spamtap
