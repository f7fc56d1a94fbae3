// Tests of the idle-connections capture: the packets of a few connections checked
// byte by byte against values worked out from the layout the header describes, the
// client address rolling over after 60,000 ports, and tshark's view when installed.
#include "synth/idle_connections.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace spamtap::synth {
namespace {

namespace fs = std::filesystem;

class ScratchDir {
 public:
  ScratchDir() {
    char pattern[] = "/tmp/spamtap-idle-XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~ScratchDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct Record {
  uint64_t seconds;
  uint64_t microseconds;
  std::string frame;
};

uint32_t little32(const std::string& bytes, size_t at) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = value << 8 | static_cast<uint8_t>(bytes[at + i]);
  return value;
}

uint32_t big32(const std::string& bytes, size_t at) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value = value << 8 | static_cast<uint8_t>(bytes[at + i]);
  return value;
}

uint16_t big16(const std::string& bytes, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(bytes[at]) << 8 |
                               static_cast<uint8_t>(bytes[at + 1]));
}

std::vector<Record> read_records(const std::string& path, uint64_t* file_size) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  *file_size = bytes.size();
  std::vector<Record> records;
  size_t at = 24;
  while (at + 16 <= bytes.size()) {
    const uint32_t length = little32(bytes, at + 8);
    records.push_back(
        {little32(bytes, at), little32(bytes, at + 4), bytes.substr(at + 16, length)});
    at += 16 + length;
  }
  return records;
}

// Frame offsets for Ethernet + IPv4 (20 bytes) + TCP.
constexpr size_t kSourceAddress = 26;
constexpr size_t kDestinationAddress = 30;
constexpr size_t kSourcePort = 34;
constexpr size_t kDestinationPort = 36;
constexpr size_t kSequence = 38;
constexpr size_t kAcknowledgment = 42;
constexpr size_t kFlags = 47;
constexpr size_t kPayloadAfterPlainHeader = 54;

constexpr uint32_t kClient0 = 0xC6120000;  // 198.18.0.0
constexpr uint32_t kServer = 0x0A140019;   // 10.20.0.25

TEST(IdleConnections, ThreeConnectionsByteByByte) {
  ScratchDir dir;
  const std::string path = dir.file("idle.pcap");
  IdleConnectionsOptions options;
  options.connections = 3;
  const IdleConnectionsSummary summary = write_idle_connections(options, path);

  // Per connection: SYN and SYN-ACK carry 8 bytes of options (14 + 20 + 28 = 62), the
  // ACK is padded to the 60-byte Ethernet minimum, the greeting is 14 + 20 + 20 + 31;
  // each record adds a 16-byte header, the file a 24-byte header.
  const uint64_t expected_size = 24 + 3 * ((16 + 62) + (16 + 62) + (16 + 60) + (16 + 85));
  uint64_t file_size = 0;
  const std::vector<Record> records = read_records(path, &file_size);
  EXPECT_EQ(file_size, expected_size);
  EXPECT_EQ(summary.file_bytes, expected_size);
  ASSERT_EQ(records.size(), 12u);
  EXPECT_EQ(summary.packets, 12u);

  // SYNs of connections 0, 1, 2 at 0, 20 and 40 microseconds; one round trip (1 ms)
  // later the SYN-ACKs, then the ACKs, then the greetings.
  const uint64_t start = 1'741'078'800;
  const uint64_t expected_microseconds[12] = {0,    20,   40,   1000, 1020, 1040,
                                              2000, 2020, 2040, 3000, 3020, 3040};
  const uint8_t expected_flags[4] = {0x02, 0x12, 0x10, 0x18};
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& record = records[i];
    const size_t step = i / 3;
    const uint16_t port = static_cast<uint16_t>(1024 + i % 3);
    const bool from_client = step == 0 || step == 2;
    SCOPED_TRACE("record " + std::to_string(i));
    EXPECT_EQ(record.seconds, start);
    EXPECT_EQ(record.microseconds, expected_microseconds[i]);
    EXPECT_EQ(big32(record.frame, kSourceAddress), from_client ? kClient0 : kServer);
    EXPECT_EQ(big32(record.frame, kDestinationAddress), from_client ? kServer : kClient0);
    EXPECT_EQ(big16(record.frame, kSourcePort), from_client ? port : 25);
    EXPECT_EQ(big16(record.frame, kDestinationPort), from_client ? 25 : port);
    EXPECT_EQ(static_cast<uint8_t>(record.frame[kFlags]), expected_flags[step]);
  }

  // Sequence numbers: each answer acknowledges what the other side sent.
  for (size_t connection = 0; connection < 3; ++connection) {
    const std::string& syn = records[connection].frame;
    const std::string& syn_ack = records[3 + connection].frame;
    const std::string& ack = records[6 + connection].frame;
    const std::string& greeting = records[9 + connection].frame;
    EXPECT_EQ(big32(syn_ack, kAcknowledgment), big32(syn, kSequence) + 1);
    EXPECT_EQ(big32(ack, kSequence), big32(syn, kSequence) + 1);
    EXPECT_EQ(big32(ack, kAcknowledgment), big32(syn_ack, kSequence) + 1);
    EXPECT_EQ(big32(greeting, kSequence), big32(syn_ack, kSequence) + 1);
    EXPECT_EQ(greeting.substr(kPayloadAfterPlainHeader), "220 mail.office.example ESMTP\r\n");
  }
  EXPECT_NE(big32(records[0].frame, kSequence), big32(records[1].frame, kSequence));
}

TEST(IdleConnections, ClientAddressChangesAfterSixtyThousandPorts) {
  ScratchDir dir;
  const std::string path = dir.file("idle.pcap");
  IdleConnectionsOptions options;
  options.connections = 60'001;
  write_idle_connections(options, path);

  uint64_t file_size = 0;
  const std::vector<Record> records = read_records(path, &file_size);
  ASSERT_EQ(records.size(), 4u * 60'001);
  // SYNs interleave with the answers to earlier connections; pick them by their flags.
  std::set<std::pair<uint32_t, uint16_t>> clients;
  const Record* last_syn = nullptr;
  for (const Record& record : records) {
    if (static_cast<uint8_t>(record.frame[kFlags]) != 0x02) continue;
    clients.insert({big32(record.frame, kSourceAddress), big16(record.frame, kSourcePort)});
    last_syn = &record;
  }
  EXPECT_EQ(clients.size(), 60'001u);
  ASSERT_NE(last_syn, nullptr);
  EXPECT_EQ(big32(last_syn->frame, kSourceAddress), kClient0 + 1);
  EXPECT_EQ(big16(last_syn->frame, kSourcePort), 1024);
  // The last SYN opens at 60,000 x 20 microseconds = 1.2 s.
  EXPECT_EQ(last_syn->seconds, 1'741'078'801u);
  EXPECT_EQ(last_syn->microseconds, 200'000u);
}

TEST(IdleConnections, OtherPortsOnlyShakeHands) {
  ScratchDir dir;
  const std::string path = dir.file("idle.pcap");
  IdleConnectionsOptions options;
  options.connections = 2;
  options.server_port = 443;
  const IdleConnectionsSummary summary = write_idle_connections(options, path);

  // SYN, SYN-ACK, ACK per connection and no greeting: 2 x (78 + 78 + 76) + 24 bytes.
  uint64_t file_size = 0;
  const std::vector<Record> records = read_records(path, &file_size);
  EXPECT_EQ(file_size, 24u + 2 * (78 + 78 + 76));
  EXPECT_EQ(summary.packets, 6u);
  ASSERT_EQ(records.size(), 6u);
  const uint8_t expected_flags[6] = {0x02, 0x02, 0x12, 0x12, 0x10, 0x10};
  for (size_t i = 0; i < records.size(); ++i) {
    const bool from_client = i < 2 || i >= 4;
    EXPECT_EQ(big16(records[i].frame, from_client ? kDestinationPort : kSourcePort), 443);
    EXPECT_EQ(static_cast<uint8_t>(records[i].frame[kFlags]), expected_flags[i]);
  }
}

TEST(IdleConnections, BadOptionsAreRejected) {
  ScratchDir dir;
  IdleConnectionsOptions options;
  options.connections = 0;
  EXPECT_THROW(write_idle_connections(options, dir.file("a.pcap")), std::invalid_argument);
  options.connections = 1;
  options.spacing = 0;
  EXPECT_THROW(write_idle_connections(options, dir.file("b.pcap")), std::invalid_argument);
  options.spacing = 20'000;
  options.server_port = 0;
  EXPECT_THROW(write_idle_connections(options, dir.file("c.pcap")), std::invalid_argument);
}

TEST(IdleConnections, TsharkSeesOneOpenConversationPerConnection) {
  if (std::system("command -v tshark >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "tshark is not installed";
  }
  ScratchDir dir;
  const std::string path = dir.file("idle.pcap");
  IdleConnectionsOptions options;
  options.connections = 5;
  write_idle_connections(options, path);

  std::string output;
  FILE* pipe = popen(("tshark -n -r '" + path +
                      "' -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' "
                      "-T fields -e tcp.stream 2>/dev/null")
                         .c_str(),
                     "r");
  ASSERT_NE(pipe, nullptr);
  char buffer[256];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  pclose(pipe);
  EXPECT_EQ(output, "0\n1\n2\n3\n4\n");

  pipe = popen(
      ("tshark -n -r '" + path + "' -Y 'smtp.response.code==220' 2>/dev/null | wc -l").c_str(),
      "r");
  ASSERT_NE(pipe, nullptr);
  output.clear();
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  pclose(pipe);
  EXPECT_EQ(output, "5\n");
}

}  // namespace
}  // namespace spamtap::synth
