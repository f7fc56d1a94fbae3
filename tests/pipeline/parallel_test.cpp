// The parts of --workers that decide where a frame goes: the quick 5-tuple read from the
// headers and the symmetric shard hash. (That N workers give the same records as one is
// checked end to end over the corpus and a synthetic capture by
// tests/corpus/test_workers_parity.py.)
#include "pipeline/parallel.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace spamtap {
namespace {

Frame frame_of(const std::vector<uint8_t>& bytes, int link = link_type::kEthernet) {
  Frame frame;
  frame.data = bytes.data();
  frame.captured_length = static_cast<uint32_t>(bytes.size());
  frame.wire_length = frame.captured_length;
  frame.link_type = link;
  return frame;
}

// Ethernet header with the given EtherType after optional VLAN tags.
std::vector<uint8_t> ethernet(uint16_t ether_type, int vlan_tags = 0) {
  std::vector<uint8_t> bytes(12, 0xAA);
  for (int i = 0; i < vlan_tags; ++i) {
    bytes.insert(bytes.end(), {0x81, 0x00, 0x00, static_cast<uint8_t>(10 + i)});
  }
  bytes.push_back(static_cast<uint8_t>(ether_type >> 8));
  bytes.push_back(static_cast<uint8_t>(ether_type));
  return bytes;
}

// IPv4 header 10.1.2.3 -> 192.0.2.9 with `protocol`, flags/fragment word `fragment`,
// followed by ports 40000 -> 25 (or the ICMP type/code bytes 8, 0).
void append_ipv4(std::vector<uint8_t>& bytes, uint8_t protocol, uint16_t fragment = 0x4000) {
  uint8_t header[20] = {0x45, 0, 0, 44, 0, 1, static_cast<uint8_t>(fragment >> 8),
                        static_cast<uint8_t>(fragment), 64, protocol, 0, 0, 10, 1, 2, 3,
                        192, 0, 2, 9};
  bytes.insert(bytes.end(), header, header + 20);
  bytes.insert(bytes.end(), {0x9C, 0x40, 0x00, 0x19, 0, 0, 0, 0});
}

TEST(QuickTuple, ReadsIpv4TcpBehindTwoVlanTags) {
  auto bytes = ethernet(0x0800, 2);
  append_ipv4(bytes, ip_protocol::kTcp);
  QuickTuple tuple;
  ASSERT_TRUE(quick_tuple(frame_of(bytes), &tuple));
  EXPECT_EQ(tuple.source.to_string(), "10.1.2.3");
  EXPECT_EQ(tuple.destination.to_string(), "192.0.2.9");
  EXPECT_EQ(tuple.source_port, 40000);
  EXPECT_EQ(tuple.destination_port, 25);
  EXPECT_EQ(tuple.protocol, ip_protocol::kTcp);
}

TEST(QuickTuple, IcmpHasNoPorts) {
  auto bytes = ethernet(0x0800);
  append_ipv4(bytes, ip_protocol::kIcmp);
  QuickTuple tuple;
  ASSERT_TRUE(quick_tuple(frame_of(bytes), &tuple));
  EXPECT_EQ(tuple.source_port, 0);
  EXPECT_EQ(tuple.destination_port, 0);
}

TEST(QuickTuple, LeavesFragmentsTunnelsAndTheUnusualToTheDecoder) {
  QuickTuple tuple;
  auto more_fragments = ethernet(0x0800);
  append_ipv4(more_fragments, ip_protocol::kTcp, 0x2000);  // MF set, offset 0
  EXPECT_FALSE(quick_tuple(frame_of(more_fragments), &tuple));
  auto later_fragment = ethernet(0x0800);
  append_ipv4(later_fragment, ip_protocol::kTcp, 0x0010);  // offset 128 bytes
  EXPECT_FALSE(quick_tuple(frame_of(later_fragment), &tuple));
  auto gre = ethernet(0x0800);
  append_ipv4(gre, ip_protocol::kGre);
  EXPECT_FALSE(quick_tuple(frame_of(gre), &tuple));
  auto three_tags = ethernet(0x0800, 3);
  append_ipv4(three_tags, ip_protocol::kTcp);
  EXPECT_FALSE(quick_tuple(frame_of(three_tags), &tuple));
  auto arp = ethernet(0x0806);
  arp.resize(42, 0);
  EXPECT_FALSE(quick_tuple(frame_of(arp), &tuple));
  auto cooked = ethernet(0x0800);
  append_ipv4(cooked, ip_protocol::kTcp);
  EXPECT_FALSE(quick_tuple(frame_of(cooked, link_type::kNflog), &tuple));
}

TEST(QuickTuple, TruncatedHeadersAreNotGuessed) {
  QuickTuple tuple;
  auto bytes = ethernet(0x0800);
  append_ipv4(bytes, ip_protocol::kTcp);
  for (size_t cut : {size_t{0}, size_t{13}, size_t{20}, size_t{33}, size_t{37}}) {
    std::vector<uint8_t> short_frame(bytes.begin(), bytes.begin() + static_cast<long>(cut));
    EXPECT_FALSE(quick_tuple(frame_of(short_frame), &tuple)) << "cut at " << cut;
  }
  auto bad_version = bytes;
  bad_version[14] = 0x65;  // version 6 behind an IPv4 EtherType
  EXPECT_FALSE(quick_tuple(frame_of(bad_version), &tuple));
  auto short_ihl = bytes;
  short_ihl[14] = 0x44;  // a 16-byte header cannot be
  EXPECT_FALSE(quick_tuple(frame_of(short_ihl), &tuple));
}

TEST(QuickTuple, ReadsRawIpv6Udp) {
  std::vector<uint8_t> bytes(40, 0);
  bytes[0] = 0x60;
  bytes[6] = ip_protocol::kUdp;
  bytes[8] = 0xfd;   // source fd00::1
  bytes[23] = 1;
  bytes[24] = 0x20;  // destination 2001:db8::35
  bytes[25] = 0x01;
  bytes[26] = 0x0d;
  bytes[27] = 0xb8;
  bytes[39] = 0x35;
  bytes.insert(bytes.end(), {0xC3, 0x50, 0x00, 0x35, 0, 8, 0, 0});
  QuickTuple tuple;
  ASSERT_TRUE(quick_tuple(frame_of(bytes, link_type::kRaw), &tuple));
  EXPECT_EQ(tuple.source.to_string(), "fd00::1");
  EXPECT_EQ(tuple.destination.to_string(), "2001:db8::35");
  EXPECT_EQ(tuple.source_port, 50000);
  EXPECT_EQ(tuple.destination_port, 53);
  bytes[6] = 0;  // a hop-by-hop header first: left to the decoder
  EXPECT_FALSE(quick_tuple(frame_of(bytes, link_type::kRaw), &tuple));
}

TEST(ShardOf, SameWorkerBothWaysAndEveryWorkerUsed) {
  IpAddress client = *IpAddress::parse("10.0.0.7");
  std::vector<int> used(4, 0);
  for (uint16_t port = 40000; port < 40400; ++port) {
    IpAddress server = *IpAddress::parse(port % 2 ? "192.0.2.25" : "2001:db8::25");
    uint32_t forward = shard_of(client, port, server, 25, ip_protocol::kTcp, 4);
    uint32_t backward = shard_of(server, 25, client, port, ip_protocol::kTcp, 4);
    ASSERT_EQ(forward, backward);
    ASSERT_LT(forward, 4u);
    used[forward]++;
  }
  // 400 conversations over 4 workers: each gets a fair share (binomial, p = 1/4: the
  // chance of fewer than 50 is far below one in a million).
  for (int count : used) EXPECT_GT(count, 50);
  // Without ports (ICMP) only the addresses count.
  IpAddress server = *IpAddress::parse("192.0.2.1");
  EXPECT_EQ(shard_of(client, 8, server, 0, ip_protocol::kIcmp, 4),
            shard_of(server, 0, client, 0, ip_protocol::kIcmp, 4));
}

}  // namespace
}  // namespace spamtap
