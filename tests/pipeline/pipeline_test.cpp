// End-to-end over hand-built frames: Ethernet/IPv4/TCP packets carrying SMTP, through
// decode, flow, reassembly, the SMTP analyzer and detection, into a recording sink.
#include "pipeline/pipeline.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace spamtap {
namespace {

struct MemorySink : RecordSink {
  void write_connection(const Connection& c) override {
    connections.push_back({c.key, c.originator, c.responder, c.smtp, c.role_rule, c.missed_bytes});
  }
  void write_smtp(const SmtpRecord& r) override { transactions.push_back(r); }
  void write_exchange(const SmtpExchangeRecord& r) override { exchanges.push_back(r); }
  void write_session(const SmtpSessionRecord& r) override { sessions.push_back(r); }
  void write_event(const Event& e) override { events.push_back(e); }
  void write_anomaly(const AnomalyRecord& a) override { anomalies.push_back(a); }
  void write_run(const RunRecord& r) override { runs.push_back(r); }
  void flush() override {}

  struct ConnectionCopy {
    ConnectionKey key;
    SideCounters originator;
    SideCounters responder;
    bool smtp;
    RoleRule rule;
    uint64_t missed_bytes;
  };
  std::vector<ConnectionCopy> connections;
  std::vector<SmtpRecord> transactions;
  std::vector<SmtpExchangeRecord> exchanges;
  std::vector<SmtpSessionRecord> sessions;
  std::vector<Event> events;
  std::vector<AnomalyRecord> anomalies;
  std::vector<RunRecord> runs;
};

// Builds Ethernet + IPv4 (20 bytes) + TCP (20 bytes) frames of one conversation and
// keeps each side's sequence number, so a test reads like the conversation itself.
class Conversation {
 public:
  Conversation(const char* client, uint16_t client_port, const char* server, uint16_t server_port)
      : client_(*IpAddress::parse(client)),
        server_(*IpAddress::parse(server)),
        client_port_(client_port),
        server_port_(server_port) {}

  void handshake() {
    add(true, tcp_flag::kSyn, "");
    client_seq_++;
    add(false, tcp_flag::kSyn | tcp_flag::kAck, "");
    server_seq_++;
    add(true, tcp_flag::kAck, "");
  }
  // A SYN that got no answer; the next one is sent from `next_sequence`.
  void unanswered_syn(uint32_t next_sequence) {
    add(true, tcp_flag::kSyn, "");
    client_seq_ = next_sequence;
  }
  // A SYN carrying data (TCP Fast Open style), then the rest of the handshake.
  void handshake_with_data(const std::string& data) {
    add(true, tcp_flag::kSyn, data);
    client_seq_ += 1 + static_cast<uint32_t>(data.size());
    add(false, tcp_flag::kSyn | tcp_flag::kAck, "");
    server_seq_++;
    add(true, tcp_flag::kAck, "");
  }
  void client(const std::string& data) { send(true, data); }
  void server(const std::string& data) { send(false, data); }
  // A client segment that arrives before the one sent just before it.
  void client_swapped(const std::string& first, const std::string& second) {
    uint32_t start = client_seq_;
    client_seq_ = start + static_cast<uint32_t>(first.size());
    add(true, tcp_flag::kAck | tcp_flag::kPsh, second);
    client_seq_ = start;
    add(true, tcp_flag::kAck | tcp_flag::kPsh, first);
    client_seq_ = start + static_cast<uint32_t>(first.size() + second.size());
  }
  void close() {
    add(true, tcp_flag::kFin | tcp_flag::kAck, "");
    client_seq_++;
    add(false, tcp_flag::kFin | tcp_flag::kAck, "");
    server_seq_++;
    add(true, tcp_flag::kAck, "");
  }

  void run(Pipeline& pipeline) {
    for (auto& frame_bytes : frames_) {
      Frame frame;
      frame.time = time_;
      time_ += seconds(1) / 100;
      frame.captured_length = static_cast<uint32_t>(frame_bytes.size());
      frame.wire_length = frame.captured_length;
      frame.link_type = link_type::kEthernet;
      frame.data = frame_bytes.data();
      pipeline.process_frame(frame);
    }
  }

 private:
  void send(bool from_client, const std::string& data) {
    add(from_client, tcp_flag::kAck | tcp_flag::kPsh, data);
    (from_client ? client_seq_ : server_seq_) += static_cast<uint32_t>(data.size());
  }

  void add(bool from_client, uint8_t flags, const std::string& payload) {
    std::vector<uint8_t> f(14, 0);
    f[12] = 0x08;  // EtherType IPv4
    size_t ip_start = f.size();
    uint16_t total = static_cast<uint16_t>(40 + payload.size());
    const IpAddress& source = from_client ? client_ : server_;
    const IpAddress& destination = from_client ? server_ : client_;
    uint8_t ip[20] = {0x45,
                      0,
                      static_cast<uint8_t>(total >> 8),
                      static_cast<uint8_t>(total),
                      0,
                      1,
                      0x40,
                      0,
                      64,
                      6,
                      0,
                      0};
    std::copy(source.bytes().begin() + 12, source.bytes().end(), ip + 12);
    std::copy(destination.bytes().begin() + 12, destination.bytes().end(), ip + 16);
    f.insert(f.end(), ip, ip + 20);
    uint32_t sum = 0;
    for (size_t i = 0; i < 20; i += 2) sum += (f[ip_start + i] << 8) | f[ip_start + i + 1];
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    f[ip_start + 10] = static_cast<uint8_t>(~sum >> 8);
    f[ip_start + 11] = static_cast<uint8_t>(~sum);

    uint16_t sport = from_client ? client_port_ : server_port_;
    uint16_t dport = from_client ? server_port_ : client_port_;
    uint32_t seq = from_client ? client_seq_ : server_seq_;
    uint32_t ack = (flags & tcp_flag::kAck) ? (from_client ? server_seq_ : client_seq_) : 0;
    uint8_t tcp[20] = {static_cast<uint8_t>(sport >> 8),
                       static_cast<uint8_t>(sport),
                       static_cast<uint8_t>(dport >> 8),
                       static_cast<uint8_t>(dport),
                       static_cast<uint8_t>(seq >> 24),
                       static_cast<uint8_t>(seq >> 16),
                       static_cast<uint8_t>(seq >> 8),
                       static_cast<uint8_t>(seq),
                       static_cast<uint8_t>(ack >> 24),
                       static_cast<uint8_t>(ack >> 16),
                       static_cast<uint8_t>(ack >> 8),
                       static_cast<uint8_t>(ack),
                       0x50,
                       flags,
                       0xFF,
                       0xFF,
                       0,
                       0,
                       0,
                       0};
    f.insert(f.end(), tcp, tcp + 20);
    f.insert(f.end(), payload.begin(), payload.end());
    frames_.push_back(std::move(f));
  }

  IpAddress client_;
  IpAddress server_;
  uint16_t client_port_;
  uint16_t server_port_;
  uint32_t client_seq_ = 1000;
  uint32_t server_seq_ = 5000;
  Timestamp time_ = seconds(1'700'000'000);
  std::vector<std::vector<uint8_t>> frames_;
};

TEST(Pipeline, RelayProbeWithSplitRepliesAndPipelining) {
  MemorySink sink;
  Pipeline pipeline({}, {&sink});
  Conversation c("10.1.0.66", 40000, "198.51.100.25", 25);
  c.handshake();
  c.server("220 mx.example.net ESMTP\r\n");
  c.client("EHLO desktop\r\n");
  c.server("250-mx.example.net\r\n250-PIPE");  // the reply is split mid-line
  c.server("LINING\r\n250 SIZE 10240000\r\n");
  // Pipelined envelope: one segment, three commands; the replies come in one segment.
  c.client(
      "MAIL FROM:<a@b.example>\r\nRCPT TO:<x@other.example>\r\n"
      "RCPT TO:<y@other.example>\r\n");
  c.server(
      "250 2.1.0 Ok\r\n554 5.7.1 <x@other.example>: Relay access denied\r\n"
      "250 2.1.5 Ok\r\n");
  c.client("QUIT\r\n");
  c.server("221 2.0.0 Bye\r\n");
  c.close();
  c.run(pipeline);
  pipeline.finish();

  ASSERT_EQ(sink.connections.size(), 1u);
  EXPECT_TRUE(sink.connections[0].smtp);
  // Client: SYN, ACK, EHLO, envelope, QUIT, FIN, last ACK = 7 packets.
  EXPECT_EQ(sink.connections[0].originator.packets, 7u);
  EXPECT_EQ(sink.connections[0].originator.payload_bytes,
            14u + 25 + 27 + 27 + 6);  // EHLO, MAIL, two RCPTs, QUIT

  ASSERT_EQ(sink.sessions.size(), 1u);
  EXPECT_EQ(sink.sessions[0].summary.greeting.code, 220);
  EXPECT_EQ(sink.sessions[0].summary.helo, "desktop");

  ASSERT_EQ(sink.transactions.size(), 1u);
  const auto& recipients = sink.transactions[0].transaction.recipients;
  ASSERT_EQ(recipients.size(), 2u);
  EXPECT_EQ(recipients[0].address, "x@other.example");
  EXPECT_EQ(recipients[0].reply.code, 554);
  EXPECT_EQ(recipients[1].address, "y@other.example");
  EXPECT_EQ(recipients[1].reply.code, 250);

  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].rule, 4122);
  EXPECT_EQ(sink.events[0].host.to_string(), "10.1.0.66");
  EXPECT_EQ(sink.events[0].peer.to_string(), "198.51.100.25");
  EXPECT_EQ(sink.events[0].evidence, "554 5.7.1 <x@other.example>: Relay access denied");
}

TEST(Pipeline, ConnectionWithoutSynIsStillAnalyzed) {
  MemorySink sink;
  Pipeline pipeline({}, {&sink});
  Conversation c("10.1.0.67", 40001, "198.51.100.26", 25);
  // The capture starts after the handshake and the greeting.
  c.client("MAIL FROM:<a@b.example>\r\n");
  c.server("250 Ok\r\n");
  for (int i = 0; i < 5; ++i) {
    c.client("RCPT TO:<dead" + std::to_string(i) + "@other.example>\r\n");
    c.server("550 5.1.1 <dead@other.example>: Recipient address rejected: User unknown\r\n");
  }
  c.client("QUIT\r\n");
  c.server("221 Bye\r\n");
  c.run(pipeline);
  pipeline.finish();

  ASSERT_EQ(sink.connections.size(), 1u);
  EXPECT_EQ(sink.connections[0].rule, RoleRule::kWellKnownPort);
  EXPECT_EQ(sink.connections[0].key.originator.to_string(), "10.1.0.67");
  ASSERT_EQ(sink.transactions.size(), 1u);
  EXPECT_EQ(sink.transactions[0].transaction.refused_recipients(), 5);
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].rule, 4123);
  EXPECT_EQ(sink.events[0].summary, "5 of 5 recipients refused as unknown within 60 min");
}

TEST(Pipeline, OutOfOrderCommandsAreReassembledBeforeParsing) {
  MemorySink sink;
  Pipeline pipeline({}, {&sink});
  Conversation c("10.1.0.68", 40002, "198.51.100.27", 2525);
  c.handshake();
  c.server("220 mx ESMTP\r\n");
  c.client("EHLO desktop.example.org\r\n");
  c.server("250-mx\r\n250 PIPELINING\r\n");
  c.client_swapped("MAIL FROM:<a@b.example>\r\n", "RCPT TO:<c@d.example>\r\n");
  c.server("250 Ok\r\n250 Ok\r\n");
  c.close();
  c.run(pipeline);
  pipeline.finish();

  ASSERT_EQ(sink.transactions.size(), 1u);
  EXPECT_EQ(sink.transactions[0].transaction.mail_from, "a@b.example");
  ASSERT_EQ(sink.transactions[0].transaction.recipients.size(), 1u);
  EXPECT_EQ(sink.transactions[0].transaction.recipients[0].address, "c@d.example");
  EXPECT_TRUE(sink.events.empty());
}

TEST(Pipeline, SmtpOnAnUnusualPortIsFoundByItsGreeting) {
  MemorySink sink;
  Pipeline pipeline({}, {&sink});
  Conversation c("10.1.0.69", 40003, "198.51.100.28", 8025);
  c.handshake();
  c.server("220 mail.example ESMTP\r\n");
  c.client("EHLO client.example.org\r\n");
  c.server("250 mail.example\r\n");
  c.client("MAIL FROM:<a@b.example>\r\n");
  c.server("250 Ok\r\n");
  c.client("RCPT TO:<v@w.example>\r\n");
  c.server(
      "554 5.7.1 Service unavailable; Client host [10.1.0.69] blocked using "
      "zen.spamhaus.org\r\n");
  c.client("QUIT\r\n");
  c.server("221 Bye\r\n");
  c.close();
  c.run(pipeline);
  pipeline.finish();

  ASSERT_EQ(sink.sessions.size(), 1u);
  EXPECT_EQ(sink.sessions[0].server_port, 8025);
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].rule, 4124);
  EXPECT_NE(sink.events[0].summary.find("own address"), std::string::npos);
}

// FTP greets with 220 too. Seven anonymous FTP logins to outside servers are not SMTP:
// no session, no exchange, no event (before, they made a false fan-out 4126).
TEST(Pipeline, FtpGreetingIsNotTakenForSmtp) {
  MemorySink sink;
  Pipeline pipeline({}, {&sink});
  for (int server = 1; server <= 7; ++server) {
    std::string address = "198.51.100." + std::to_string(server);
    Conversation c("10.1.0.71", static_cast<uint16_t>(41000 + server), address.c_str(), 21);
    c.handshake();
    c.server("220 (vsFTPd 3.0.3)\r\n");
    c.client("USER anonymous\r\n");
    c.server("331 Please specify the password.\r\n");
    c.client("PASS guest@\r\n");
    c.server("230 Login successful.\r\n");
    c.client("QUIT\r\n");
    c.server("221 Goodbye.\r\n");
    c.close();
    c.run(pipeline);
  }
  pipeline.finish();
  ASSERT_EQ(sink.connections.size(), 7u);
  for (const auto& connection : sink.connections) EXPECT_FALSE(connection.smtp);
  EXPECT_TRUE(sink.sessions.empty());
  EXPECT_TRUE(sink.exchanges.empty());
  EXPECT_TRUE(sink.events.empty());
}

// A client retrying its SYN with a new sequence number (here across the 32-bit wrap) is
// followed from the new one; data carried on a SYN starts one past the SYN's number.
// Either mistake would shift every reply onto the wrong command and lose the 4122.
TEST(Pipeline, RetriedSynAndDataOnSynKeepTheStreamAligned) {
  for (int variant = 0; variant < 2; ++variant) {
    MemorySink sink;
    Pipeline pipeline({}, {&sink});
    Conversation c("10.1.0.72", 40005, "198.51.100.25", 25);
    if (variant == 0) {
      c.unanswered_syn(0xFFFFFF00u);
      c.handshake();
      c.server("220 mx.example ESMTP\r\n");
      c.client("EHLO bot.example\r\n");
    } else {
      c.handshake_with_data("EHLO bot.example\r\n");
      c.server("220 mx.example ESMTP\r\n");
    }
    c.server("250 mx.example\r\n");
    c.client("MAIL FROM:<a@b.example>\r\n");
    c.server("250 Ok\r\n");
    c.client("RCPT TO:<victim@elsewhere.example>\r\n");
    c.server("554 5.7.1 <victim@elsewhere.example>: Relay access denied\r\n");
    c.client("QUIT\r\n");
    c.server("221 Bye\r\n");
    c.close();
    c.run(pipeline);
    pipeline.finish();
    SCOPED_TRACE(variant);
    ASSERT_EQ(sink.connections.size(), 1u);
    EXPECT_EQ(sink.connections[0].missed_bytes, 0u);
    ASSERT_EQ(sink.sessions.size(), 1u);
    EXPECT_EQ(sink.sessions[0].summary.helo, "bot.example");
    bool relay_denied = false;
    for (const auto& event : sink.events) relay_denied |= event.rule == 4122;
    EXPECT_TRUE(relay_denied);
  }
}

TEST(Pipeline, OrdinaryWebTrafficIsNotAnalyzedAsSmtp) {
  MemorySink sink;
  Pipeline pipeline({}, {&sink});
  Conversation c("10.1.0.70", 40004, "198.51.100.80", 80);
  c.handshake();
  c.client("GET / HTTP/1.1\r\nHost: example\r\n\r\n");
  c.server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  c.close();
  c.run(pipeline);
  pipeline.finish();
  ASSERT_EQ(sink.connections.size(), 1u);
  EXPECT_FALSE(sink.connections[0].smtp);
  EXPECT_TRUE(sink.sessions.empty());
  ASSERT_EQ(sink.runs.size(), 1u);
  EXPECT_EQ(sink.runs[0].counters.at("packets"), 8u);
}

}  // namespace
}  // namespace spamtap

namespace spamtap {
namespace {

TEST(Pipeline, GlobalReassemblyCapGivesUpOnHoles) {
  MemorySink sink;
  AnalysisOptions options;
  options.max_reassembly_bytes = 16;  // less than the segment held out of order below
  Pipeline pipeline(options, {&sink});
  Conversation c("10.1.0.71", 40005, "198.51.100.29", 25);
  c.handshake();
  c.server("220 mx ESMTP\r\n");
  c.client("EHLO host.example.org\r\n");
  c.server("250 mx\r\n");
  // The MAIL line arrives after the RCPT line; the RCPT line (24 bytes) is held, which
  // is over the cap, so the stream declares the MAIL line's bytes missing at once.
  c.client_swapped("MAIL FROM:<a@b.example>\r\n", "RCPT TO:<c@d.example>\r\n");
  c.close();
  c.run(pipeline);
  pipeline.finish();
  EXPECT_EQ(pipeline.counters().at("reassembly_global_cap_flushes"), 1u);
  EXPECT_EQ(pipeline.counters().at("reassembly_gap_bytes"), 25u);  // the MAIL line
  ASSERT_EQ(sink.connections.size(), 1u);
  EXPECT_EQ(sink.connections[0].missed_bytes, 25u);
}

TEST(Pipeline, MidstreamOnUnknownPortsTheGreeterIsTheServer) {
  MemorySink sink;
  Pipeline pipeline({}, {&sink});
  // Both ports are ephemeral and the handshake was not captured; the first packet is
  // the server's greeting, so first-packet order alone would make the server the client.
  Conversation c("10.1.0.72", 40006, "198.51.100.30", 45000);
  c.server("220 mx.example ESMTP\r\n");
  c.client("EHLO host.example.org\r\n");
  c.server("250 mx.example\r\n");
  c.client("QUIT\r\n");
  c.server("221 Bye\r\n");
  c.run(pipeline);
  pipeline.finish();
  ASSERT_EQ(sink.connections.size(), 1u);
  EXPECT_EQ(sink.connections[0].rule, RoleRule::kSmtpGreeting);
  EXPECT_EQ(sink.connections[0].key.originator.to_string(), "10.1.0.72");
  EXPECT_EQ(sink.connections[0].key.responder_port, 45000);
  EXPECT_EQ(sink.connections[0].originator.packets, 2u);  // EHLO, QUIT
  EXPECT_EQ(sink.connections[0].responder.packets, 3u);
  ASSERT_EQ(sink.sessions.size(), 1u);
  EXPECT_EQ(sink.sessions[0].summary.helo, "host.example.org");
}

}  // namespace
}  // namespace spamtap
