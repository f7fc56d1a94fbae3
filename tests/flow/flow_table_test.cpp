#include "flow/flow_table.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace spamtap {
namespace {

// Records what the table tells its observer; the ended connections are copied out.
struct Ended {
  ConnectionKey key;
  SideCounters originator;
  SideCounters responder;
  ConnectionEnd end;
  RoleRule rule;
  bool handshake;
  std::string state;
  bool originator_local;
};

class Recorder : public ConnectionObserver {
 public:
  void on_packet(Connection&, const Packet&, bool from_originator) override {
    directions.push_back(from_originator);
  }
  void on_connection_end(Connection& c) override {
    ended.push_back({c.key, c.originator, c.responder, c.end, c.role_rule, c.handshake_completed(),
                     connection_state(c), c.originator_local});
  }
  std::vector<bool> directions;
  std::vector<Ended> ended;
};

Packet tcp(const char* source, uint16_t source_port, const char* destination,
           uint16_t destination_port, uint8_t flags, uint32_t payload = 0, int64_t second = 0) {
  Packet packet;
  packet.time = seconds(second);
  packet.source = *IpAddress::parse(source);
  packet.destination = *IpAddress::parse(destination);
  packet.protocol = ip_protocol::kTcp;
  packet.source_port = source_port;
  packet.destination_port = destination_port;
  packet.tcp_flags = flags;
  packet.payload_length = payload;
  packet.ip_length = 40 + payload;  // 20 IP + 20 TCP header bytes
  return packet;
}

constexpr uint8_t kSyn = tcp_flag::kSyn;
constexpr uint8_t kSynAck = tcp_flag::kSyn | tcp_flag::kAck;
constexpr uint8_t kAck = tcp_flag::kAck;
constexpr uint8_t kFinAck = tcp_flag::kFin | tcp_flag::kAck;
constexpr uint8_t kRst = tcp_flag::kRst;

TEST(FlowTable, FullHandshakeCountsEachSideAndClosesWithFin) {
  Recorder recorder;
  FlowTable table({}, HomeNetworks(), &recorder);
  table.process(tcp("10.0.0.5", 40000, "192.0.2.25", 25, kSyn));
  table.process(tcp("192.0.2.25", 25, "10.0.0.5", 40000, kSynAck));
  table.process(tcp("10.0.0.5", 40000, "192.0.2.25", 25, kAck));
  table.process(tcp("192.0.2.25", 25, "10.0.0.5", 40000, kAck, 30));
  table.process(tcp("10.0.0.5", 40000, "192.0.2.25", 25, kAck, 12));
  table.process(tcp("10.0.0.5", 40000, "192.0.2.25", 25, kFinAck));
  table.process(tcp("192.0.2.25", 25, "10.0.0.5", 40000, kFinAck));
  table.process(tcp("10.0.0.5", 40000, "192.0.2.25", 25, kAck));
  table.finish();

  ASSERT_EQ(recorder.ended.size(), 1u);
  const Ended& c = recorder.ended[0];
  EXPECT_EQ(c.key.originator.to_string(), "10.0.0.5");
  EXPECT_EQ(c.key.responder_port, 25);
  // Originator: SYN, ACK, 12-byte data, FIN, last ACK = 5 packets, 4*40 + 52 bytes.
  EXPECT_EQ(c.originator.packets, 5u);
  EXPECT_EQ(c.originator.ip_bytes, 4u * 40 + 52);
  EXPECT_EQ(c.originator.payload_bytes, 12u);
  // Responder: SYN-ACK, 30-byte data, FIN = 3 packets, 2*40 + 70 bytes.
  EXPECT_EQ(c.responder.packets, 3u);
  EXPECT_EQ(c.responder.ip_bytes, 2u * 40 + 70);
  EXPECT_TRUE(c.handshake);
  EXPECT_EQ(c.state, "SF");
  EXPECT_EQ(c.end, ConnectionEnd::kFin);
  EXPECT_EQ(c.rule, RoleRule::kSyn);
  EXPECT_TRUE(c.originator_local);
}

TEST(FlowTable, ConnectionWithoutSynTakesTheServicePortAsResponder) {
  Recorder recorder;
  FlowTable table({}, HomeNetworks(), &recorder);
  // First packet seen goes from the server (port 25) to the client.
  table.process(tcp("192.0.2.25", 25, "10.0.0.5", 40000, kAck, 50));
  table.process(tcp("10.0.0.5", 40000, "192.0.2.25", 25, kAck, 10));
  table.finish();
  ASSERT_EQ(recorder.ended.size(), 1u);
  EXPECT_EQ(recorder.ended[0].key.originator.to_string(), "10.0.0.5");
  EXPECT_EQ(recorder.ended[0].rule, RoleRule::kWellKnownPort);
  EXPECT_EQ(recorder.ended[0].originator.payload_bytes, 10u);
  EXPECT_EQ(recorder.ended[0].responder.payload_bytes, 50u);
  EXPECT_EQ(recorder.ended[0].state, "OTH");
  EXPECT_EQ(recorder.ended[0].end, ConnectionEnd::kEndOfInput);
  EXPECT_EQ(recorder.directions, (std::vector<bool>{false, true}));
}

TEST(FlowTable, SynAckOnlyMakesItsSenderTheResponder) {
  Recorder recorder;
  FlowTable table({}, HomeNetworks(), &recorder);
  table.process(tcp("192.0.2.9", 5000, "10.0.0.5", 6000, kSynAck));
  table.finish();
  ASSERT_EQ(recorder.ended.size(), 1u);
  EXPECT_EQ(recorder.ended[0].key.responder.to_string(), "192.0.2.9");
  EXPECT_EQ(recorder.ended[0].rule, RoleRule::kSynAck);
}

TEST(FlowTable, RejectedAttemptIsRej) {
  Recorder recorder;
  FlowTable table({}, HomeNetworks(), &recorder);
  table.process(tcp("10.0.0.5", 40001, "192.0.2.25", 25, kSyn));
  table.process(tcp("192.0.2.25", 25, "10.0.0.5", 40001, kRst | kAck));
  table.finish();
  ASSERT_EQ(recorder.ended.size(), 1u);
  EXPECT_EQ(recorder.ended[0].state, "REJ");
  EXPECT_EQ(recorder.ended[0].end, ConnectionEnd::kRst);
  EXPECT_FALSE(recorder.ended[0].handshake);
}

TEST(FlowTable, NewSynOnClosedTupleStartsANewConnection) {
  Recorder recorder;
  FlowTable table({}, HomeNetworks(), &recorder);
  for (int round = 0; round < 2; ++round) {
    Packet syn = tcp("10.0.0.5", 40002, "192.0.2.25", 25, kSyn, 0, round);
    syn.sequence = 1000u + 5000u * static_cast<uint32_t>(round);
    table.process(syn);
    table.process(tcp("192.0.2.25", 25, "10.0.0.5", 40002, kSynAck, 0, round));
    table.process(tcp("10.0.0.5", 40002, "192.0.2.25", 25, kRst, 0, round));
  }
  table.finish();
  ASSERT_EQ(recorder.ended.size(), 2u);
  EXPECT_EQ(table.counters().port_reuse, 1u);
  EXPECT_EQ(recorder.ended[0].originator.packets, 2u);
  EXPECT_EQ(recorder.ended[1].originator.packets, 2u);
}

TEST(FlowTable, RetransmittedSynAfterResetStaysInTheSameConnection) {
  Recorder recorder;
  FlowTable table({}, HomeNetworks(), &recorder);
  Packet syn = tcp("192.168.0.4", 26242, "192.0.2.110", 110, kSyn);
  syn.sequence = 777;
  table.process(syn);
  table.process(tcp("192.0.2.110", 110, "192.168.0.4", 26242, kRst | kAck));
  table.process(syn);  // the client tries again with the same initial sequence number
  table.process(tcp("192.0.2.110", 110, "192.168.0.4", 26242, kRst | kAck));
  table.finish();
  ASSERT_EQ(recorder.ended.size(), 1u);
  EXPECT_EQ(recorder.ended[0].originator.packets, 2u);
  EXPECT_EQ(recorder.ended[0].responder.packets, 2u);
  EXPECT_EQ(table.counters().port_reuse, 0u);
}

TEST(FlowTable, IdleConnectionsTimeOut) {
  Recorder recorder;
  FlowLimits limits;
  limits.udp_idle_timeout = seconds(60);
  FlowTable table(limits, HomeNetworks(), &recorder);
  Packet dns = tcp("10.0.0.5", 5353, "192.0.2.53", 53, 0, 30, 0);
  dns.protocol = ip_protocol::kUdp;
  table.process(dns);
  Packet later = tcp("10.0.0.6", 5353, "192.0.2.53", 53, 0, 30, 61);
  later.protocol = ip_protocol::kUdp;
  table.process(later);
  ASSERT_EQ(recorder.ended.size(), 1u);
  EXPECT_EQ(recorder.ended[0].end, ConnectionEnd::kIdleTimeout);
  EXPECT_EQ(table.active(), 1u);
}

Packet udp(const char* source, uint16_t source_port, const char* destination,
           uint16_t destination_port, int64_t second) {
  Packet packet = tcp(source, source_port, destination, destination_port, 0, 0, second);
  packet.protocol = ip_protocol::kUdp;
  packet.ip_length = 28;
  return packet;
}

// Each idle timeout is kept exactly: a UDP conversation (60 s) that went quiet after an
// open TCP connection (300 s) leaves at its own time, not behind the TCP one, and a
// closed TCP connection leaves after its linger (30 s).
TEST(FlowTable, EveryKindOfConnectionLeavesAtItsOwnTimeout) {
  Recorder recorder;
  FlowTable table({}, HomeNetworks(), &recorder);
  table.process(tcp("10.0.0.5", 40000, "192.0.2.80", 80, kSyn, 0, 0));
  table.process(udp("10.0.0.5", 5353, "192.0.2.53", 53, 1));
  table.process(tcp("10.0.0.6", 40001, "192.0.2.25", 25, kSyn, 0, 2));
  table.process(tcp("192.0.2.25", 25, "10.0.0.6", 40001, kRst | kAck, 0, 2));
  table.advance(seconds(32));  // 30 s after the reset: not yet past the linger
  EXPECT_EQ(recorder.ended.size(), 0u);
  table.advance(seconds(33));
  ASSERT_EQ(recorder.ended.size(), 1u);
  EXPECT_EQ(recorder.ended[0].end, ConnectionEnd::kRst);
  table.advance(seconds(61));
  EXPECT_EQ(recorder.ended.size(), 1u);
  table.advance(seconds(62));  // 61 s after the UDP packet; the TCP one is 62 s idle
  ASSERT_EQ(recorder.ended.size(), 2u);
  EXPECT_EQ(recorder.ended[1].key.protocol, ip_protocol::kUdp);
  EXPECT_EQ(recorder.ended[1].end, ConnectionEnd::kIdleTimeout);
  table.advance(seconds(301));
  ASSERT_EQ(recorder.ended.size(), 3u);
  EXPECT_EQ(recorder.ended[2].key.responder_port, 80);
  EXPECT_EQ(table.active(), 0u);
}

// When several are due at once, the least recently touched leaves first, whatever its
// kind: the order a table fed a share of the input must reproduce.
TEST(FlowTable, DueConnectionsLeaveLeastRecentlyTouchedFirst) {
  Recorder recorder;
  FlowTable table({}, HomeNetworks(), &recorder);
  table.process(udp("10.0.0.1", 1000, "192.0.2.53", 53, 0), 1);
  table.process(tcp("10.0.0.2", 2000, "192.0.2.80", 80, kSyn, 0, 0), 2);
  table.process(udp("10.0.0.3", 3000, "192.0.2.53", 53, 0), 3);
  table.advance(seconds(1000));
  ASSERT_EQ(recorder.ended.size(), 3u);
  EXPECT_EQ(recorder.ended[0].key.originator_port, 1000);
  EXPECT_EQ(recorder.ended[1].key.originator_port, 2000);
  EXPECT_EQ(recorder.ended[2].key.originator_port, 3000);
}

TEST(FlowTable, FullTableEvictsTheLeastRecentlyActive) {
  Recorder recorder;
  FlowLimits limits;
  limits.max_connections = 3;
  FlowTable table(limits, HomeNetworks(), &recorder);
  for (uint16_t port = 1; port <= 5; ++port) {
    table.process(tcp("10.0.0.5", static_cast<uint16_t>(40000 + port), "192.0.2.25", 25, kSyn));
  }
  EXPECT_EQ(table.active(), 3u);
  EXPECT_EQ(table.counters().evicted, 2u);
  ASSERT_EQ(recorder.ended.size(), 2u);
  EXPECT_EQ(recorder.ended[0].key.originator_port, 40001);
  EXPECT_EQ(recorder.ended[1].key.originator_port, 40002);
  EXPECT_EQ(recorder.ended[0].end, ConnectionEnd::kEvicted);
}

TEST(FlowTable, ManyConnectionsSurviveGrowthAndDeletion) {
  Recorder recorder;
  FlowTable table({}, HomeNetworks(), &recorder);
  // 5000 connections, each two packets; half of them reset in between. Every packet
  // must find its own connection again after the index grew and entries were removed.
  for (int i = 0; i < 5000; ++i) {
    auto port = static_cast<uint16_t>(1024 + i);
    table.process(tcp("10.0.0.5", port, "192.0.2.25", 25, kSyn));
    if (i % 2) table.process(tcp("192.0.2.25", 25, "10.0.0.5", port, kRst | kAck));
  }
  for (int i = 0; i < 5000; i += 2) {
    auto port = static_cast<uint16_t>(1024 + i);
    table.process(tcp("192.0.2.25", 25, "10.0.0.5", port, kSynAck));
  }
  table.finish();
  ASSERT_EQ(recorder.ended.size(), 5000u);
  for (const auto& c : recorder.ended) {
    EXPECT_EQ(c.originator.packets, 1u);
    EXPECT_EQ(c.responder.packets, 1u);
  }
}

TEST(FlowTable, Ipv6AndIcmpEcho) {
  Recorder recorder;
  FlowTable table({}, HomeNetworks(), &recorder);
  Packet reply = tcp("2001:db8::1", 0, "fd00::5", 0, 0, 56);
  reply.protocol = ip_protocol::kIcmpV6;
  reply.source_port = 129;  // echo reply: the destination asked
  table.process(reply);
  table.finish();
  ASSERT_EQ(recorder.ended.size(), 1u);
  EXPECT_EQ(recorder.ended[0].key.originator.to_string(), "fd00::5");
  EXPECT_TRUE(recorder.ended[0].originator_local);
}

}  // namespace
}  // namespace spamtap
