// Tests of the traffic writer: frames and checksums, the pcap container, and
// whole scenarios read back by an independent dissector (tshark) when it is
// installed.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "synth/conversation.hpp"
#include "synth/frame.hpp"
#include "synth/pcap_writer.hpp"
#include "synth/scenario.hpp"

namespace spamtap::synth {
namespace {

namespace fs = std::filesystem;

std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/spamtap-synth-XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string &name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string run(const std::string &command) {
  std::string output;
  FILE *pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return output;
  std::array<char, 4096> buffer{};
  size_t got = 0;
  while ((got = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    output.append(buffer.data(), got);
  pclose(pipe);
  return output;
}

bool have_tshark() { return std::system("command -v tshark >/dev/null 2>&1") == 0; }

struct PcapRecord {
  uint64_t time_ns;
  std::string_view frame;
};

// A small independent reader of what PcapWriter writes (little-endian classic
// pcap).
std::vector<PcapRecord> parse_pcap(const std::string &bytes, uint32_t *magic) {
  auto le32 = [&](size_t at) {
    return static_cast<uint32_t>(static_cast<uint8_t>(bytes[at])) |
           static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 1])) << 8 |
           static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 2])) << 16 |
           static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 3])) << 24;
  };
  std::vector<PcapRecord> records;
  *magic = le32(0);
  const uint64_t scale = *magic == 0xa1b23c4d ? 1 : 1000;
  size_t at = 24;
  while (at + 16 <= bytes.size()) {
    const uint32_t length = le32(at + 8);
    if (at + 16 + length > bytes.size()) break;
    records.push_back({le32(at) * 1'000'000'000ULL + le32(at + 4) * scale,
                       std::string_view(bytes).substr(at + 16, length)});
    at += 16 + length;
  }
  return records;
}

uint64_t count_code(const std::string &tshark_fields, const std::string &code) {
  uint64_t count = 0;
  std::stringstream lines(tshark_fields);
  std::string line;
  while (std::getline(lines, line)) {
    std::stringstream values(line);
    std::string value;
    while (std::getline(values, value, ',')) count += value == code ? 1 : 0;
  }
  return count;
}

TEST(Frame, TcpAndIpChecksumsVerify) {
  Station from{IpAddress::v4(0x0a140110), {2, 0, 10, 20, 1, 16}, 64};
  Station to{IpAddress::v4(0xc0000219), {2, 0, 0x5e, 0x10, 0, 1}, 50};
  TcpFields tcp;
  tcp.source_port = 40000;
  tcp.destination_port = 25;
  tcp.sequence = 1000;
  tcp.acknowledgment = 2000;
  tcp.flags = tcp_flag::kAck | tcp_flag::kPsh;
  tcp.window = 64240;
  const std::string payload = "EHLO ws-001\r\n";
  std::array<uint8_t, kMaxFrameLength> frame{};
  const size_t length =
      write_tcp_frame(frame.data(), from, to, 7, tcp,
                      reinterpret_cast<const uint8_t *>(payload.data()), payload.size());
  ASSERT_EQ(length, 14u + 20 + 20 + payload.size());
  EXPECT_EQ(internet_checksum_finish(internet_checksum_add(0, frame.data() + 14, 20)), 0);

  // Pseudo-header plus segment sums to all ones when the checksum is right.
  uint32_t sum = internet_checksum_add(0, frame.data() + 14 + 12, 8);
  sum += 6 + 20 + static_cast<uint32_t>(payload.size());
  sum = internet_checksum_add(sum, frame.data() + 34, 20 + payload.size());
  EXPECT_EQ(internet_checksum_finish(sum), 0);
}

TEST(Frame, ShortFramesArePaddedToEthernetMinimum) {
  const uint8_t v6_bytes[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const uint8_t v6_peer[16] = {0xfd, 0x7a, 0x1c, 0x20, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 1, 10};
  Station from{IpAddress::v6_bytes(v6_bytes), {2, 0, 0x5e, 0x10, 0, 1}, 55};
  Station to{IpAddress::v6_bytes(v6_peer), {2, 0, 10, 20, 1, 10}, 64};
  std::array<uint8_t, kMaxFrameLength> frame{};
  const size_t v6_length = write_udp_frame(frame.data(), from, to, 1, 53, 40000, nullptr, 0);
  EXPECT_EQ(v6_length, 14u + 40 + 8);
  EXPECT_EQ(frame[12], 0x86);

  Station small_from{IpAddress::v4(0x0a140110), {2, 0, 10, 20, 1, 16}, 64};
  Station small_to{IpAddress::v4(0x0a140035), {2, 0, 10, 20, 0, 53}, 64};
  const size_t v4_length =
      write_udp_frame(frame.data(), small_from, small_to, 1, 40000, 53, nullptr, 0);
  EXPECT_EQ(v4_length, kMinFrameLength);
}

TEST(PcapWriter, WritesHeaderAndRecordsInBothPrecisions) {
  TempDir dir;
  for (auto precision : {TimestampPrecision::kMicroseconds, TimestampPrecision::kNanoseconds}) {
    const std::string path = dir.file("p.pcap");
    {
      PcapWriter writer(path, precision, 1 << 16);
      for (int i = 0; i < 5000; ++i) {  // several buffer drains
        uint8_t *frame = writer.begin_frame(100);
        std::fill(frame, frame + 100, static_cast<uint8_t>(i));
        writer.commit_frame(seconds(1'700'000'000) + int64_t{i} * 1'234'567, 100);
      }
      writer.close();
      EXPECT_EQ(writer.packets(), 5000u);
      EXPECT_EQ(writer.file_bytes(), 24u + 5000u * 116u);
    }
    const std::string bytes = read_file(path);
    uint32_t magic = 0;
    const auto records = parse_pcap(bytes, &magic);
    EXPECT_EQ(magic, precision == TimestampPrecision::kNanoseconds ? 0xa1b23c4d : 0xa1b2c3d4);
    ASSERT_EQ(records.size(), 5000u);
    const uint64_t expected = seconds(1'700'000'000) + 4999ULL * 1'234'567;
    EXPECT_EQ(records.back().time_ns,
              precision == TimestampPrecision::kNanoseconds ? expected : expected / 1000 * 1000);
    EXPECT_EQ(static_cast<uint8_t>(records[4999].frame[0]), static_cast<uint8_t>(4999));
  }
}

TEST(PcapWriter, UnwritablePathIsAClearError) {
  EXPECT_THROW(PcapWriter("/nonexistent-dir/x.pcap", TimestampPrecision::kMicroseconds),
               std::runtime_error);
}

TEST(TcpConversationBuilder, SequenceNumbersFollowTheBytes) {
  Conversation conversation;
  conversation.originator.address = IpAddress::v4(0x0a140110);
  conversation.responder.address = IpAddress::v4(0xc0000219);
  Random random(7);
  PathTiming timing;
  TcpConversationBuilder builder(conversation, seconds(100), timing, random);
  builder.handshake();
  builder.send_text(Side::kOriginator, std::string(5000, 'a'), 1000);
  builder.send_text(Side::kResponder, std::string(300, 'b'), 1000);
  builder.close(Side::kOriginator, 1000);
  builder.finish();

  const auto &packets = conversation.packets;
  ASSERT_GE(packets.size(), 10u);
  EXPECT_EQ(packets[0].flags, tcp_flag::kSyn);
  EXPECT_EQ(packets[1].flags, tcp_flag::kSyn | tcp_flag::kAck);
  EXPECT_EQ(packets[1].acknowledgment, packets[0].sequence + 1);
  uint64_t originator_bytes = 0;
  uint32_t expected_sequence = packets[0].sequence + 1;
  for (size_t i = 1; i < packets.size(); ++i) {
    EXPECT_LE(packets[i - 1].time, packets[i].time);
    if (packets[i].side == Side::kOriginator && packets[i].payload_length > 0) {
      EXPECT_EQ(packets[i].sequence, expected_sequence);
      EXPECT_LE(packets[i].payload_length, 1460u);
      expected_sequence += packets[i].payload_length;
      originator_bytes += packets[i].payload_length;
    }
  }
  EXPECT_EQ(originator_bytes, 5000u);
  // The responder's final FIN acknowledges the originator's FIN.
  const auto fin = std::find_if(packets.begin(), packets.end(), [](const PacketRecord &p) {
    return p.side == Side::kResponder && (p.flags & tcp_flag::kFin);
  });
  ASSERT_NE(fin, packets.end());
  EXPECT_EQ(fin->acknowledgment, expected_sequence + 1);
}

ScenarioOptions small_office(uint64_t seed) {
  ScenarioOptions options = office_scenario(seed, 12, seconds(300), 1);
  options.web_per_desktop_hour = 60;
  options.download_scale = 0.2;
  options.mail_per_desktop_hour = 8;
  return options;
}

TEST(Scenario, SameSeedGivesIdenticalFilesAndOtherSeedDiffers) {
  TempDir first;
  TempDir second;
  write_scenario(demo_scenario(), first.file("a.pcap"));
  write_scenario(demo_scenario(), second.file("a.pcap"));
  EXPECT_EQ(read_file(first.file("a.pcap")), read_file(second.file("a.pcap")));
  EXPECT_EQ(read_file(first.file("a.pcap.truth.json")),
            read_file(second.file("a.pcap.truth.json")));

  ScenarioOptions other = demo_scenario();
  other.seed += 1;
  write_scenario(other, second.file("c.pcap"));
  EXPECT_NE(read_file(first.file("a.pcap")), read_file(second.file("c.pcap")));
}

TEST(Scenario, PacketsAreInTimeOrderAndTruthMatchesTheSummary) {
  TempDir dir;
  const std::string path = dir.file("office.pcap");
  const ScenarioSummary summary = write_scenario(small_office(11), path);
  const std::string bytes = read_file(path);
  EXPECT_EQ(bytes.size(), summary.file_bytes);
  uint32_t magic = 0;
  const auto records = parse_pcap(bytes, &magic);
  ASSERT_EQ(records.size(), summary.packets);
  bool saw_v6 = false;
  for (size_t i = 1; i < records.size(); ++i) {
    ASSERT_LE(records[i - 1].time_ns, records[i].time_ns) << "packet " << i;
    saw_v6 = saw_v6 || (static_cast<uint8_t>(records[i].frame[12]) == 0x86);
  }
  EXPECT_TRUE(saw_v6);

  const auto truth = nlohmann::json::parse(read_file(summary.truth_path));
  EXPECT_EQ(truth["totals"]["tcp_connections"].get<uint64_t>(), summary.tcp_connections);
  EXPECT_EQ(truth["bots"].size(), 4u);  // one of each kind
  std::map<std::string, int> kinds;
  for (const auto &host : truth["hosts"]) {
    if (!host.contains("bot")) continue;
    for (const auto &kind : host["bot"]["kinds"]) ++kinds[kind.get<std::string>()];
    EXPECT_GE(host["bot"]["habits"].size(), 2u);
    EXPECT_GT(host["smtp_client"]["sessions"].get<int>(), 0);
  }
  EXPECT_EQ(kinds.size(), 4u);
}

TEST(Scenario, TargetSizeIsReached) {
  TempDir dir;
  ScenarioOptions options = office_scenario(5, 10, seconds(1), 0);
  options.target_bytes = 3'000'000;
  const ScenarioSummary summary = write_scenario(options, dir.file("sized.pcap"));
  EXPECT_GE(summary.file_bytes, options.target_bytes);
  EXPECT_LT(summary.file_bytes, options.target_bytes * 30);
}

TEST(Scenario, BadOptionsAreRejected) {
  TempDir dir;
  ScenarioOptions options = demo_scenario();
  options.hosts = 0;
  EXPECT_THROW(write_scenario(options, dir.file("x.pcap")), std::invalid_argument);
}

TEST(Demo, NamesExactlyOneBotAndItsRefusals) {
  TempDir dir;
  const std::string path = dir.file("demo.pcap");
  const ScenarioSummary summary = write_scenario(demo_scenario(), path);
  EXPECT_GT(summary.file_bytes, 100'000u);
  EXPECT_LT(summary.file_bytes, 1'500'000u);

  const auto truth = nlohmann::json::parse(read_file(summary.truth_path));
  ASSERT_EQ(truth["bots"].size(), 1u);
  const std::string bot = truth["bots"][0].get<std::string>();
  int bots = 0;
  for (const auto &host : truth["hosts"]) {
    if (!host.contains("bot")) {
      // Ordinary hosts get no refusals beyond the mail server's single bounce.
      if (host.contains("smtp_client") && host["address"] != "10.20.0.25") {
        for (const auto &[code, count] : host["smtp_client"]["reply_codes"].items()) {
          EXPECT_NE(code[0], '5') << host["address"] << " got " << code;
        }
      }
      continue;
    }
    ++bots;
    EXPECT_EQ(host["address"].get<std::string>(), bot);
    EXPECT_EQ(host["role"], "desktop");
    const auto kinds = host["bot"]["kinds"].dump();
    EXPECT_NE(kinds.find("relay_prober"), std::string::npos);
    EXPECT_NE(kinds.find("dead_address_mailer"), std::string::npos);
    EXPECT_NE(kinds.find("blocklisted"), std::string::npos);
  }
  EXPECT_EQ(bots, 1);
  EXPECT_LE(truth["totals"]["legitimate_bounces"].get<int>(), 1);

  const std::string bytes = read_file(path);
  EXPECT_NE(bytes.find("blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/" + bot),
            std::string::npos);
  EXPECT_NE(bytes.find("User unknown in virtual mailbox table"), std::string::npos);
  const bool relay = bytes.find("Relay access denied") != std::string::npos ||
                     bytes.find("Relaying denied") != std::string::npos;
  EXPECT_TRUE(relay);
}

// The independent reader: tshark must find nothing malformed, every checksum
// right, as many TCP conversations as written and the same refusals.
void check_with_tshark(const std::string &path) {
  const std::string truth_text = read_file(truth_path_for(path));
  const auto truth = nlohmann::json::parse(truth_text);
  const std::string quoted = "'" + path + "'";

  EXPECT_EQ(run("tshark -n -r " + quoted + " -Y _ws.malformed 2>/dev/null"), "");
  EXPECT_EQ(run("tshark -n -r " + quoted +
                " -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE"
                " -o ip.check_checksum:TRUE"
                " -Y 'tcp.checksum.status==2 || udp.checksum.status==2 || "
                "ip.checksum.status==2'"
                " 2>/dev/null"),
            "");
  EXPECT_EQ(run("tshark -n -r " + quoted + " -Y _ws.expert.severity==error 2>/dev/null"), "");

  const std::string conversations = run("tshark -n -r " + quoted + " -q -z conv,tcp 2>/dev/null");
  uint64_t lines = 0;
  for (size_t at = conversations.find("<->"); at != std::string::npos;
       at = conversations.find("<->", at + 3)) {
    ++lines;
  }
  EXPECT_EQ(lines, truth["totals"]["tcp_connections"].get<uint64_t>());

  const std::string codes =
      run("tshark -n -r " + quoted +
          " -Y smtp.response.code -T fields -e smtp.response.code 2>/dev/null");
  const auto &expected = truth["totals"]["smtp_reply_codes"];
  for (const std::string code : {"550", "554", "250", "354", "221"}) {
    const uint64_t want = expected.contains(code) ? expected[code].get<uint64_t>() : 0;
    if (code == "250") continue;  // multi-line EHLO replies count once here, per line there
    EXPECT_EQ(count_code(codes, code), want) << "reply code " << code;
  }
}

TEST(Tshark, DemoIsValidAndCountsMatch) {
  if (!have_tshark()) GTEST_SKIP() << "tshark is not installed";
  TempDir dir;
  const std::string path = dir.file("demo.pcap");
  write_scenario(demo_scenario(), path);
  check_with_tshark(path);
}

TEST(Tshark, OfficeWithEveryBotKindIsValidAndCountsMatch) {
  if (!have_tshark()) GTEST_SKIP() << "tshark is not installed";
  TempDir dir;
  const std::string path = dir.file("office.pcap");
  ScenarioOptions options = small_office(3);
  options.precision = TimestampPrecision::kNanoseconds;
  write_scenario(options, path);
  check_with_tshark(path);
}

}  // namespace
}  // namespace spamtap::synth

#include "synth/quantity.hpp"

namespace spamtap::synth {
namespace {

TEST(Quantity, DurationsAndSizesAsTyped) {
  EXPECT_EQ(parse_duration("90"), seconds(90));
  EXPECT_EQ(parse_duration("15m"), seconds(900));
  EXPECT_EQ(parse_duration("1h"), seconds(3600));
  EXPECT_EQ(parse_duration("1.5h"), seconds(5400));
  EXPECT_EQ(parse_duration("2d"), seconds(172800));
  EXPECT_FALSE(parse_duration("").has_value());
  EXPECT_FALSE(parse_duration("h").has_value());
  EXPECT_FALSE(parse_duration("5 weeks").has_value());
  EXPECT_FALSE(parse_duration("0s").has_value());
  EXPECT_FALSE(parse_duration("-1h").has_value());

  EXPECT_EQ(parse_size("200MB"), 200'000'000u);
  EXPECT_EQ(parse_size("1GiB"), 1073741824u);
  EXPECT_EQ(parse_size("500k"), 500'000u);
  EXPECT_EQ(parse_size("4096"), 4096u);
  EXPECT_FALSE(parse_size("lots").has_value());
  EXPECT_FALSE(parse_size("3TB").has_value());
}

}  // namespace
}  // namespace spamtap::synth

namespace spamtap::synth {
namespace {

// A fan-out bot that outlives its list of target servers keeps picking among them
// (this once read past the end of the list on long captures).
TEST(Scenario, LongFanOutStaysInsideItsTargets) {
  // Few desktops, no web and tiny downloads: the file stays small while the fan-out bot
  // sends more than its 150 target servers' worth of sessions.
  ScenarioOptions options = office_scenario(1, 8, seconds(4 * 3600), 1);
  options.web_per_desktop_hour = 0;
  options.download_scale = 0.01;
  std::string path = ::testing::TempDir() + "/spamtap-long-fan-out.pcap";
  ScenarioSummary summary = write_scenario(options, path);
  EXPECT_GT(summary.smtp_sessions, 0u);
  std::remove(path.c_str());
  std::remove((path + ".truth.json").c_str());
}

}  // namespace
}  // namespace spamtap::synth
