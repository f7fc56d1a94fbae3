// The report layer over a store built by the real pipeline from hand-built frames. The
// scenario is described at the top of each test; expected numbers come from that
// description (and from the bytes the frame builder wrote), never from the store.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "analysis/report_layer.hpp"
#include "pipeline/pipeline.hpp"
#include "store/sqlite_store.hpp"

namespace spamtap {
namespace {

constexpr Timestamp kStart = 1'741'078'800LL * kNanosPerSecond;  // 2025-03-04T09:00:00Z (Tue)
constexpr Timestamp kHourNs = seconds(3600);

// IPv4/TCP frames of one conversation, with the IP bytes each side sent.
class TcpConversation {
 public:
  TcpConversation(const std::string& client, uint16_t client_port, const std::string& server,
                  uint16_t server_port, Timestamp start)
      : client_(*IpAddress::parse(client)),
        server_(*IpAddress::parse(server)),
        client_port_(client_port),
        server_port_(server_port),
        time_(start) {}

  void open() {
    segment(true, tcp_flag::kSyn, "");
    client_seq_++;
    segment(false, tcp_flag::kSyn | tcp_flag::kAck, "");
    server_seq_++;
    segment(true, tcp_flag::kAck, "");
  }
  void refuse() {
    segment(true, tcp_flag::kSyn, "");
    segment(false, tcp_flag::kRst | tcp_flag::kAck, "");
  }
  void client(const std::string& data) { send(true, data); }
  void server(const std::string& data) { send(false, data); }
  void close() {
    segment(true, tcp_flag::kFin | tcp_flag::kAck, "");
    client_seq_++;
    segment(false, tcp_flag::kFin | tcp_flag::kAck, "");
    server_seq_++;
    segment(true, tcp_flag::kAck, "");
  }
  void run(Pipeline& pipeline) const {
    for (const auto& [time, bytes] : frames_) {
      Frame frame;
      frame.time = time;
      frame.captured_length = static_cast<uint32_t>(bytes.size());
      frame.wire_length = frame.captured_length;
      frame.link_type = link_type::kEthernet;
      frame.data = bytes.data();
      pipeline.process_frame(frame);
    }
  }
  Timestamp start() const { return frames_.front().first; }
  Timestamp end() const { return frames_.back().first; }

  uint64_t client_bytes = 0;
  uint64_t server_bytes = 0;

 private:
  void send(bool from_client, const std::string& data) {
    segment(from_client, tcp_flag::kAck | tcp_flag::kPsh, data);
    (from_client ? client_seq_ : server_seq_) += static_cast<uint32_t>(data.size());
  }

  static void put16(std::vector<uint8_t>& out, size_t at, uint32_t value) {
    out[at] = static_cast<uint8_t>(value >> 8);
    out[at + 1] = static_cast<uint8_t>(value);
  }

  void segment(bool from_client, uint8_t flags, const std::string& payload) {
    size_t ip_length = 40 + payload.size();
    std::vector<uint8_t> f(14 + ip_length, 0);
    f[12] = 0x08;
    f[14] = 0x45;
    put16(f, 16, static_cast<uint32_t>(ip_length));
    f[22] = 64;
    f[23] = 6;
    const IpAddress& source = from_client ? client_ : server_;
    const IpAddress& destination = from_client ? server_ : client_;
    std::copy(source.bytes().begin() + 12, source.bytes().end(), f.begin() + 26);
    std::copy(destination.bytes().begin() + 12, destination.bytes().end(), f.begin() + 30);
    uint32_t sum = 0;
    for (size_t i = 14; i < 34; i += 2) sum += (f[i] << 8) | f[i + 1];
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    put16(f, 24, ~sum & 0xFFFF);

    put16(f, 34, from_client ? client_port_ : server_port_);
    put16(f, 36, from_client ? server_port_ : client_port_);
    uint32_t seq = from_client ? client_seq_ : server_seq_;
    uint32_t ack = (flags & tcp_flag::kAck) ? (from_client ? server_seq_ : client_seq_) : 0;
    put16(f, 38, seq >> 16);
    put16(f, 40, seq & 0xFFFF);
    put16(f, 42, ack >> 16);
    put16(f, 44, ack & 0xFFFF);
    f[46] = 0x50;
    f[47] = flags;
    put16(f, 48, 0xFFFF);
    std::copy(payload.begin(), payload.end(), f.begin() + 54);

    (from_client ? client_bytes : server_bytes) += ip_length;
    frames_.emplace_back(time_, std::move(f));
    time_ += seconds(1) / 10;
  }

  IpAddress client_;
  IpAddress server_;
  uint16_t client_port_;
  uint16_t server_port_;
  uint32_t client_seq_ = 1000;
  uint32_t server_seq_ = 9000;
  Timestamp time_;
  std::vector<std::pair<Timestamp, std::vector<uint8_t>>> frames_;
};

// A web-like exchange: request, response, close.
TcpConversation exchange(const std::string& client, uint16_t client_port, const std::string& server,
                         uint16_t server_port, Timestamp start) {
  TcpConversation c(client, client_port, server, server_port, start);
  c.open();
  c.client(std::string(100, 'q'));
  c.server(std::string(1000, 'r'));
  c.close();
  return c;
}

// The hostile HELO: an escape sequence, a bell, quotes and commas.
const std::string kHostileHelo = "evil\x1b[2J\x07\"quoted\",comma,name";

// The office of these tests (home networks: the private ranges):
//   desktop 10.1.0.10  hour 0: three HTTPS exchanges with 203.0.113.5:443;
//                      hour 1: two exchanges with 203.0.113.6:6667 (a trojan's port);
//                      hour 1: one SMTP session to the local server 10.1.0.20:25 with a
//                              hostile HELO.
//   server  10.1.0.20  hour 0: accepts 22 from 198.51.100.7 twice and 198.51.100.8 once;
//                      hour 0: refuses 23 from 198.51.100.9 (SYN, RST).
struct Office {
  std::vector<TcpConversation> conversations;
  uint64_t desktop_https_sent = 0;
  uint64_t desktop_https_received = 0;

  Office() {
    for (int i = 0; i < 3; ++i) {
      conversations.push_back(exchange("10.1.0.10", static_cast<uint16_t>(50000 + i), "203.0.113.5",
                                       443, kStart + seconds(60 * (i + 1))));
      desktop_https_sent += conversations.back().client_bytes;
      desktop_https_received += conversations.back().server_bytes;
    }
    conversations.push_back(
        exchange("198.51.100.7", 40000, "10.1.0.20", 22, kStart + seconds(600)));
    conversations.push_back(
        exchange("198.51.100.7", 40001, "10.1.0.20", 22, kStart + seconds(700)));
    conversations.push_back(
        exchange("198.51.100.8", 40000, "10.1.0.20", 22, kStart + seconds(800)));
    TcpConversation refused("198.51.100.9", 40000, "10.1.0.20", 23, kStart + seconds(900));
    refused.refuse();
    conversations.push_back(refused);
    for (int i = 0; i < 2; ++i) {
      conversations.push_back(exchange("10.1.0.10", static_cast<uint16_t>(51000 + i), "203.0.113.6",
                                       6667, kStart + kHourNs + seconds(60 * (i + 1))));
    }
    TcpConversation smtp("10.1.0.10", 52000, "10.1.0.20", 25, kStart + kHourNs + seconds(600));
    smtp.open();
    smtp.server("220 mail.office.example ESMTP\r\n");
    smtp.client("EHLO " + kHostileHelo + "\r\n");
    smtp.server("250 mail.office.example\r\n");
    smtp.client("QUIT\r\n");
    smtp.server("221 bye\r\n");
    smtp.close();
    conversations.push_back(smtp);
  }
};

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("spamtap_reports_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db"))
                .string();
    remove_store();
  }
  void TearDown() override {
    if (db_) sqlite3_close(db_);
    remove_store();
  }
  void remove_store() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path_ + suffix).c_str());
  }

  // One analysis run over `conversations`, in time order, as `spamtap analyze` does.
  void analyze(const std::vector<TcpConversation>& conversations) {
    std::string error;
    auto store = SqliteStore::open(path_, &error);
    ASSERT_TRUE(store) << error;
    Pipeline pipeline({}, {store.get()});
    std::vector<const TcpConversation*> ordered;
    for (const auto& c : conversations) ordered.push_back(&c);
    std::stable_sort(ordered.begin(), ordered.end(),
                     [](const auto* a, const auto* b) { return a->start() < b->start(); });
    for (const auto* c : ordered) c->run(pipeline);
    pipeline.finish();
    store->flush();
    ASSERT_EQ(store->write_errors(), 0u) << store->last_error();
  }

  sqlite3* db() {
    if (!db_) sqlite3_open(path_.c_str(), &db_);
    return db_;
  }

  Table report(const std::string& name, const ReportOptions& options = {}) {
    SqliteSource source(db());
    Table table;
    std::string error;
    EXPECT_TRUE(run_report(source, name, options, &table, &error)) << name << ": " << error;
    return table;
  }

  void add_member(const std::string& list, const std::string& host, Timestamp joined) {
    std::string sql = "INSERT INTO asset_members (list, host, joined_ns, reason) VALUES ('" + list +
                      "', '" + host + "', " + std::to_string(joined) + ", 'test')";
    ASSERT_EQ(sqlite3_exec(db(), sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  }

  std::string path_;
  sqlite3* db_ = nullptr;
};

size_t column(const Table& table, const std::string& name) {
  for (size_t i = 0; i < table.columns.size(); ++i) {
    if (table.columns[i] == name) return i;
  }
  ADD_FAILURE() << "no column " << name;
  return 0;
}

// Rows whose `key` column equals `value`.
std::vector<std::vector<nlohmann::json>> rows_where(const Table& table, const std::string& key,
                                                    const nlohmann::json& value) {
  std::vector<std::vector<nlohmann::json>> out;
  size_t i = column(table, key);
  for (const auto& row : table.rows) {
    if (row[i] == value) out.push_back(row);
  }
  return out;
}

TEST_F(ReportTest, ClientPortsListEachRemotePortOfTheDesktopWithCounts) {
  Office office;
  analyze(office.conversations);
  ReportOptions options;
  options.host = "10.1.0.10";
  Table table = report("client-ports", options);
  ASSERT_EQ(table.rows.size(), 3u);  // 443, 6667, 25

  auto https = rows_where(table, "port", 443);
  ASSERT_EQ(https.size(), 1u);
  EXPECT_EQ(https[0][column(table, "connections")], 3);
  EXPECT_EQ(https[0][column(table, "established")], 3);
  EXPECT_EQ(https[0][column(table, "peers")], 1);
  EXPECT_EQ(https[0][column(table, "bytes_sent")], office.desktop_https_sent);
  EXPECT_EQ(https[0][column(table, "bytes_received")], office.desktop_https_received);
  EXPECT_EQ(https[0][column(table, "first_seen")], format_iso8601(kStart + seconds(60), 3));

  auto trojan = rows_where(table, "port", 6667);
  ASSERT_EQ(trojan.size(), 1u);
  EXPECT_EQ(trojan[0][column(table, "connections")], 2);
  EXPECT_EQ(rows_where(table, "port", 25).size(), 1u);
}

TEST_F(ReportTest, AcceptsExternalCountsOutsideClientsWithCompletedHandshakesOnly) {
  Office office;
  analyze(office.conversations);
  Table table = report("accepts-external");
  // Port 22 of the server, from two outside clients; not 23 (refused) and not 25 (the
  // client was local).
  ASSERT_EQ(table.rows.size(), 1u);
  EXPECT_EQ(table.rows[0][column(table, "host")], "10.1.0.20");
  EXPECT_EQ(table.rows[0][column(table, "port")], 22);
  EXPECT_EQ(table.rows[0][column(table, "outside_clients")], 2);
  EXPECT_EQ(table.rows[0][column(table, "connections")], 3);
}

TEST_F(ReportTest, PortsSplitByRoleForTheServer) {
  Office office;
  analyze(office.conversations);
  ReportOptions options;
  options.host = "10.1.0.20";
  options.role = HostRole::kServer;
  Table table = report("ports", options);
  ASSERT_EQ(table.rows.size(), 3u);                     // 22, 23, 25
  EXPECT_EQ(table.rows[0][column(table, "port")], 22);  // the most used first
  EXPECT_EQ(table.rows[0][column(table, "connections")], 3);
  EXPECT_EQ(table.rows[0][column(table, "peers")], 2);
  auto telnet = rows_where(table, "port", 23);
  ASSERT_EQ(telnet.size(), 1u);
  EXPECT_EQ(telnet[0][column(table, "established")], 0);

  options.role = HostRole::kClient;
  EXPECT_TRUE(report("ports", options).rows.empty());  // the server opened nothing
}

TEST_F(ReportTest, MatrixHasLocalHostsAsRowsAndPortsAsColumns) {
  Office office;
  analyze(office.conversations);
  Table table = report("matrix");
  ASSERT_EQ(table.rows.size(), 2u);
  auto desktop = rows_where(table, "host", "10.1.0.10");
  auto server = rows_where(table, "host", "10.1.0.20");
  ASSERT_EQ(desktop.size(), 1u);
  ASSERT_EQ(server.size(), 1u);
  EXPECT_EQ(desktop[0][column(table, "443")], 3);
  EXPECT_EQ(desktop[0][column(table, "6667")], 2);
  EXPECT_EQ(desktop[0][column(table, "22")], 0);
  EXPECT_EQ(server[0][column(table, "22")], 3);
  EXPECT_EQ(server[0][column(table, "25")], 1);  // served; the desktop's row has it too
  EXPECT_EQ(desktop[0][column(table, "total")], 6);
  EXPECT_EQ(server[0][column(table, "total")], 5);

  std::ostringstream csv;
  render(table, OutputFormat::kCsv, csv);
  EXPECT_EQ(csv.str().substr(0, 11), "host,total,");
}

TEST_F(ReportTest, ActivityPerHourAndPerDay) {
  Office office;
  analyze(office.conversations);
  ReportOptions options;
  options.host = "10.1.0.10";
  Table hours = report("activity", options);
  ASSERT_EQ(hours.rows.size(), 2u);
  EXPECT_EQ(hours.rows[0][column(hours, "bucket")], format_iso8601(kStart, 0));
  EXPECT_EQ(hours.rows[0][column(hours, "weekday")], "Tue");
  EXPECT_EQ(hours.rows[0][column(hours, "connections")], 3);
  EXPECT_EQ(hours.rows[1][column(hours, "connections")], 3);  // 2 x 6667 + 1 SMTP

  options.bucket = Bucket::kDay;
  Table days = report("activity", options);
  ASSERT_EQ(days.rows.size(), 1u);
  EXPECT_EQ(days.rows[0][column(days, "bucket")], "2025-03-04T00:00:00Z");
  EXPECT_EQ(days.rows[0][column(days, "connections")], 6);

  // A quiet hour between two busy ones is a row of zeros.
  options.bucket = Bucket::kHour;
  options.since = kStart - 2 * kHourNs;
  Table padded = report("activity", options);
  ASSERT_EQ(padded.rows.size(), 4u);
  EXPECT_EQ(padded.rows[0][column(padded, "connections")], 0);
  EXPECT_FALSE(sparkline({0, 0, 3, 3}).empty());
}

TEST_F(ReportTest, ActivityOfAllHostsCountsAConnectionBetweenTwoLocalHostsOnce) {
  // Hour 0: the desktop's three HTTPS connections, the server's three SSH connections
  // and the refused telnet attempt (7). Hour 1: the desktop's two 6667 connections and
  // its SMTP session to the local server, which is one connection seen from both ends
  // (3, not 4).
  Office office;
  analyze(office.conversations);
  Table hours = report("activity");
  ASSERT_EQ(hours.rows.size(), 2u);
  EXPECT_EQ(hours.rows[0][column(hours, "connections")], 7);
  EXPECT_EQ(hours.rows[1][column(hours, "connections")], 3);
  EXPECT_EQ(hours.rows[1][column(hours, "hosts")], 2);

  ReportOptions options;
  options.bucket = Bucket::kDay;
  Table days = report("activity", options);
  ASSERT_EQ(days.rows.size(), 1u);
  EXPECT_EQ(days.rows[0][column(days, "connections")], 10);

  // With the outside hosts too, each of the ten connections still counts once.
  options.include_remote = true;
  days = report("activity", options);
  ASSERT_EQ(days.rows.size(), 1u);
  EXPECT_EQ(days.rows[0][column(days, "connections")], 10);

  // One side only: the SMTP session is the server's.
  options.include_remote = false;
  options.role = HostRole::kServer;
  days = report("activity", options);
  EXPECT_EQ(days.rows[0][column(days, "connections")], 5);  // 3 SSH, telnet, SMTP
}

TEST_F(ReportTest, TalkersRankPerDirection) {
  Office office;
  analyze(office.conversations);
  ReportOptions options;
  options.order = TalkerOrder::kConnections;
  Table table = report("talkers", options);
  auto outbound = rows_where(table, "direction", "outbound");
  auto inbound = rows_where(table, "direction", "inbound");
  ASSERT_EQ(outbound.size(), 1u);  // only the desktop opened connections
  EXPECT_EQ(outbound[0][column(table, "host")], "10.1.0.10");
  EXPECT_EQ(outbound[0][column(table, "connections")], 6);
  EXPECT_EQ(outbound[0][column(table, "peers")], 3);
  ASSERT_EQ(inbound.size(), 1u);
  EXPECT_EQ(inbound[0][column(table, "host")], "10.1.0.20");
  EXPECT_EQ(inbound[0][column(table, "connections")], 5);
  EXPECT_EQ(inbound[0][column(table, "peers")], 4);  // .7, .8, .9 and the desktop
}

TEST_F(ReportTest, SessionsHaveDurationBytesAndRate) {
  Office office;
  analyze(office.conversations);
  ReportOptions options;
  options.host = "10.1.0.10";
  options.port = 443;
  Table table = report("sessions", options);
  ASSERT_EQ(table.rows.size(), 3u);
  const TcpConversation& first = office.conversations[0];
  EXPECT_EQ(table.rows[0][column(table, "start")], format_iso8601(first.start(), 3));
  EXPECT_EQ(table.rows[0][column(table, "end")], format_iso8601(first.end(), 3));
  double duration = static_cast<double>(first.end() - first.start()) / 1e9;
  EXPECT_DOUBLE_EQ(table.rows[0][column(table, "duration_s")].get<double>(), duration);
  EXPECT_EQ(table.rows[0][column(table, "client_bytes")], first.client_bytes);
  EXPECT_EQ(table.rows[0][column(table, "server_bytes")], first.server_bytes);
  EXPECT_EQ(table.rows[0][column(table, "bytes_per_s")],
            static_cast<int64_t>((first.client_bytes + first.server_bytes) / duration + 0.5));

  // The refused telnet attempt is not a completed connection.
  options.host = "10.1.0.20";
  options.port = 23;
  EXPECT_TRUE(report("sessions", options).rows.empty());
}

TEST_F(ReportTest, AssetListsSelectTheirMembersAndAnEmptyListSelectsNobody) {
  Office office;
  analyze(office.conversations);
  add_member("watch", "10.1.0.20", kStart);
  ReportOptions options;
  options.asset = "watch";
  Table ports = report("ports", options);
  ASSERT_FALSE(ports.rows.empty());
  for (const auto& row : ports.rows) EXPECT_EQ(row[column(ports, "role")], "server");
  EXPECT_EQ(report("sessions", options).rows.size(), 4u);  // 3 x ssh + SMTP

  options.asset = "nobody";  // no rows in asset_members
  for (const auto& info : analysis_reports()) {
    Table table = report(std::string(info.name), options);
    EXPECT_TRUE(table.rows.empty()) << info.name;
  }
}

TEST_F(ReportTest, TimeRangeWithoutDataAndAnEmptyStoreGiveNoRows) {
  Office office;
  analyze(office.conversations);
  ReportOptions options;
  options.since = kStart + 24 * kHourNs;
  options.until = kStart + 48 * kHourNs;
  for (const auto& info : analysis_reports()) {
    Table table = report(std::string(info.name), options);
    EXPECT_TRUE(table.rows.empty()) << info.name;
    EXPECT_FALSE(table.columns.empty() && info.name != "matrix") << info.name;
  }

  TearDown();
  db_ = nullptr;
  analyze({});
  for (const auto& info : analysis_reports()) {
    EXPECT_TRUE(report(std::string(info.name)).rows.empty()) << info.name;
  }
}

TEST_F(ReportTest, HostileHeloIsRenderedSafelyInEveryFormat) {
  Office office;
  analyze(office.conversations);
  ReportOptions options;
  options.port = 25;
  Table table = report("sessions", options);
  ASSERT_EQ(table.rows.size(), 1u);
  std::string helo = table.rows[0][column(table, "helo")].get<std::string>();
  ASSERT_EQ(helo, kHostileHelo);  // stored as seen

  std::ostringstream text;
  render(table, OutputFormat::kTable, text);
  EXPECT_EQ(text.str().find('\x1b'), std::string::npos);
  EXPECT_EQ(text.str().find('\x07'), std::string::npos);
  EXPECT_NE(text.str().find("\\x1b"), std::string::npos);

  std::ostringstream csv;
  render(table, OutputFormat::kCsv, csv);
  EXPECT_NE(csv.str().find("\"evil"), std::string::npos);  // quoted: it holds commas
  EXPECT_NE(csv.str().find("\"\"quoted\"\""), std::string::npos);
  EXPECT_EQ(csv.str().find('\x1b'), std::string::npos);

  std::ostringstream json;
  render(table, OutputFormat::kJson, json);
  EXPECT_EQ(json.str().find('\x1b'), std::string::npos);
  auto parsed = nlohmann::json::parse(json.str());
  EXPECT_EQ(parsed["helo"], kHostileHelo);
}

TEST_F(ReportTest, NovelListsOnlyWhatTheSecondRunSawFirst) {
  Office office;
  analyze(office.conversations);  // run 1: the learning period
  EXPECT_TRUE(report("novel").rows.empty());

  // Run 2: the desktop again on 443 (known), and on 8080 (new); a new host appears;
  // the desktop joins an asset list.
  std::vector<TcpConversation> second;
  Timestamp later = kStart + 5 * kHourNs;
  second.push_back(exchange("10.1.0.10", 53000, "203.0.113.5", 443, later));
  second.push_back(exchange("10.1.0.10", 53001, "203.0.113.7", 8080, later + seconds(60)));
  second.push_back(exchange("10.1.0.99", 53002, "203.0.113.5", 443, later + seconds(120)));
  add_member("SPAM Server", "10.1.0.10", later);
  sqlite3_close(db_);
  db_ = nullptr;
  analyze(second);

  Table table = report("novel");
  std::vector<std::string> items;
  for (const auto& row : table.rows) {
    items.push_back(row[0].get<std::string>() + " " + row[1].get<std::string>() + " " +
                    row[2].get<std::string>());
  }
  std::sort(items.begin(), items.end());
  EXPECT_EQ(items, (std::vector<std::string>{"client_port 10.1.0.10 tcp/8080",
                                             "client_port 10.1.0.99 tcp/443", "host 10.1.0.99 ",
                                             "list_pair 10.1.0.10 SPAM Server"}));

  // With the learning period ending before the first run, everything is new.
  ReportOptions options;
  options.learn_until = kStart - kHourNs;
  EXPECT_GT(report("novel", options).rows.size(), table.rows.size());

  // The same items as events, for the sinks.
  auto events = novelty_and_surge_events(db(), later);
  EXPECT_EQ(events.size(), 4u);
  for (const auto& event : events) EXPECT_EQ(event.rule, rule_id::kNeverSeenBefore);
}

TEST_F(ReportTest, PeersSeenInTwoRunsCountOnce) {
  // Run 1: the desktop opens one HTTPS connection to 203.0.113.5 in hour 0. Run 2: one
  // more to 203.0.113.5 and one to 203.0.113.6, both in hour 3. Two peers, three
  // connections, over all time and over a range that holds both hours.
  analyze({exchange("10.1.0.10", 50000, "203.0.113.5", 443, kStart + seconds(60))});
  sqlite3_close(db_);
  db_ = nullptr;
  analyze({exchange("10.1.0.10", 50001, "203.0.113.5", 443, kStart + 3 * kHourNs),
           exchange("10.1.0.10", 50002, "203.0.113.6", 443, kStart + 3 * kHourNs + seconds(5))});

  ReportOptions options;
  options.host = "10.1.0.10";
  for (bool ranged : {false, true}) {
    if (ranged) {
      // Monday 09:00 to Wednesday 09:00: Tuesday whole, the two partial days around it.
      options.since = kStart - 24 * kHourNs;
      options.until = kStart + 24 * kHourNs;
    }
    Table table = report("client-ports", options);
    ASSERT_EQ(table.rows.size(), 1u) << ranged;
    EXPECT_EQ(table.rows[0][column(table, "connections")], 3) << ranged;
    EXPECT_EQ(table.rows[0][column(table, "peers")], 2) << ranged;
    Table talkers = report("talkers", options);
    ASSERT_EQ(talkers.rows.size(), 1u) << ranged;
    EXPECT_EQ(talkers.rows[0][column(talkers, "peers")], 2) << ranged;
  }

  // Unfiltered, the all-hosts rows agree: one local client host, two peers on 443.
  Table ports = report("ports");
  auto https = rows_where(ports, "port", 443);
  ASSERT_EQ(https.size(), 1u);
  EXPECT_EQ(https[0][column(ports, "hosts")], 1);
  EXPECT_EQ(https[0][column(ports, "connections")], 3);
  EXPECT_EQ(https[0][column(ports, "peers")], 2);
}

TEST_F(ReportTest, SurgeFindsTheHourThatJumpsAboveTheBaseline) {
  // 10.1.0.30 makes one HTTPS exchange every hour for 20 hours, then 30 in hour 20.
  std::vector<TcpConversation> traffic;
  uint16_t port = 40000;
  for (int hour = 0; hour < 20; ++hour) {
    traffic.push_back(
        exchange("10.1.0.30", port++, "203.0.113.5", 443, kStart + hour * kHourNs + seconds(10)));
  }
  for (int i = 0; i < 30; ++i) {
    traffic.push_back(exchange("10.1.0.30", port++, "203.0.113.5", 443,
                               kStart + 20 * kHourNs + seconds(10 + 60 * i)));
  }
  analyze(traffic);

  ReportOptions options;
  options.host = "10.1.0.30";
  Table table = report("surge", options);
  auto host_rows = rows_where(table, "kind", "host");
  ASSERT_EQ(host_rows.size(), 1u);  // connections; peers stayed at 1
  const auto& row = host_rows[0];
  EXPECT_EQ(row[column(table, "bucket")], format_iso8601(kStart + 20 * kHourNs, 0));
  EXPECT_EQ(row[column(table, "metric")], "connections");
  EXPECT_EQ(row[column(table, "value")], 30);
  EXPECT_DOUBLE_EQ(row[column(table, "baseline")].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(row[column(table, "mad")].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(row[column(table, "jump")].get<double>(), 29.0);
  auto port_rows = rows_where(table, "kind", "port");
  ASSERT_EQ(port_rows.size(), 1u);
  EXPECT_EQ(port_rows[0][column(table, "key")], "tcp/443");

  auto events = novelty_and_surge_events(db(), kStart + 20 * kHourNs);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].rule, rule_id::kSurge);
  EXPECT_EQ(events[0].host.to_string(), "10.1.0.30");

  // Before hour 20 nothing surges.
  options.until = kStart + 20 * kHourNs;
  EXPECT_TRUE(report("surge", options).rows.empty());
}

}  // namespace
}  // namespace spamtap
