// The blocklist report over a store written here: connections of a few local hosts to
// addresses on a spam list and a botnet list, through the detector into SQLite, then
// read back grouped by pair, list, host and remote, with time, host and list filters.
#include "analysis/blocklist_report.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

#include "decode/packet.hpp"
#include "detect/blocklist_detector.hpp"
#include "store/sqlite_store.hpp"

namespace spamtap {
namespace {

intel::Blocklist make_list(std::string name, std::string category,
                           std::vector<std::pair<std::string, std::string>> entries) {
  intel::Blocklist list;
  list.info.name = std::move(name);
  list.info.category = std::move(category);
  for (auto& [text, label] : entries) {
    list.entries.push_back(intel::BlocklistEntry{*Cidr::parse(text), label});
  }
  return list;
}

class BlocklistReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("spamtap-blocklist-report-" + std::to_string(getpid()) + ".db"))
                .string();
    std::filesystem::remove(path_);

    std::string error;
    std::vector<intel::Blocklist> lists;
    lists.push_back(make_list("spam", "spam", {{"198.51.100.0/24", "SBL1"}}));
    lists.push_back(make_list("botnet", "botnet", {{"203.0.113.66", "cc"}}));
    auto set = intel::BlocklistSet::build(std::move(lists), &error);
    ASSERT_TRUE(set) << error;
    BlocklistDetector detector(set);

    auto store = SqliteStore::open(path_, &error);
    ASSERT_TRUE(store) << error;
    // The suspect 10.0.0.9 talks to both lists; 10.0.0.2 to the spam list once; a listed
    // scanner reaches the mail server 10.0.0.25; one clean connection.
    add(*store, detector, "10.0.0.9", "198.51.100.5", 25, 100, true);
    add(*store, detector, "10.0.0.9", "198.51.100.5", 25, 200, true);
    add(*store, detector, "10.0.0.9", "198.51.100.6", 25, 300, true);
    add(*store, detector, "10.0.0.9", "203.0.113.66", 443, 400, true);
    add(*store, detector, "10.0.0.2", "198.51.100.5", 25, 500, true);
    add(*store, detector, "198.51.100.77", "10.0.0.25", 25, 600, false);
    add(*store, detector, "10.0.0.2", "192.0.2.1", 80, 700, true);
    store->flush();
    EXPECT_EQ(detector.counters().events, 6u);

    ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  }

  void TearDown() override {
    sqlite3_close(db_);
    std::filesystem::remove(path_);
    std::filesystem::remove(path_ + "-wal");
    std::filesystem::remove(path_ + "-shm");
  }

  // One connection of 10 s starting at `start` seconds, written with its events.
  void add(SqliteStore& store, BlocklistDetector& detector, const char* originator,
           const char* responder, uint16_t port, int start, bool originator_local) {
    Connection c;
    c.id = ++next_id_;
    c.key.originator = *IpAddress::parse(originator);
    c.key.responder = *IpAddress::parse(responder);
    c.key.originator_port = static_cast<uint16_t>(40000 + next_id_);
    c.key.responder_port = port;
    c.key.protocol = ip_protocol::kTcp;
    c.originator_local = originator_local;
    c.responder_local = !originator_local;
    c.first_time = seconds(start);
    c.last_time = seconds(start + 10);
    c.end = ConnectionEnd::kFin;
    std::vector<Event> events;
    detector.check(c, &events);
    for (const Event& event : events) store.write_event(event);
    store.write_connection(c);
  }

  Table report(BlocklistGrouping by, ReportFilter filter = {}, std::string list = "") {
    BlocklistReportOptions options;
    options.by = by;
    options.filter = std::move(filter);
    options.list = std::move(list);
    return blocklist_report(db_, options);
  }

  static size_t column(const Table& table, const std::string& name) {
    for (size_t i = 0; i < table.columns.size(); ++i) {
      if (table.columns[i] == name) return i;
    }
    ADD_FAILURE() << "no column " << name;
    return 0;
  }

  std::string path_;
  sqlite3* db_ = nullptr;
  uint64_t next_id_ = 0;
};

TEST_F(BlocklistReportTest, OneRowPerListHostAndRemote) {
  Table table = report(BlocklistGrouping::kPair);
  ASSERT_EQ(table.rows.size(), 5u);
  size_t list = column(table, "list");
  size_t host = column(table, "host");
  size_t remote = column(table, "remote");
  size_t connections = column(table, "connections");
  size_t entry = column(table, "entry");

  // Lists in name order; inside a list, most connections first.
  EXPECT_EQ(table.rows[0][list], "botnet");
  EXPECT_EQ(table.rows[0][host], "10.0.0.9");
  EXPECT_EQ(table.rows[0][remote], "203.0.113.66");
  EXPECT_EQ(table.rows[0][entry], "203.0.113.66/32");
  EXPECT_EQ(table.rows[0][connections], 1);

  EXPECT_EQ(table.rows[1][list], "spam");
  EXPECT_EQ(table.rows[1][host], "10.0.0.9");
  EXPECT_EQ(table.rows[1][remote], "198.51.100.5");
  EXPECT_EQ(table.rows[1][connections], 2);
  EXPECT_EQ(table.rows[1][entry], "198.51.100.0/24");
  EXPECT_EQ(table.rows[1][column(table, "label")], "SBL1");
  EXPECT_EQ(table.rows[1][column(table, "outbound")], 2);
  EXPECT_EQ(table.rows[1][column(table, "inbound")], 0);
  EXPECT_EQ(table.rows[1][column(table, "remote_ports")], "25");
  // First seen is the first connection's start, last seen the last one's end.
  EXPECT_EQ(table.rows[1][column(table, "first_seen")], format_iso8601(seconds(100), 3));
  EXPECT_EQ(table.rows[1][column(table, "last_seen")], format_iso8601(seconds(210), 3));

  // The inbound scanner: the host is our mail server, the remote is the listed address.
  bool found_inbound = false;
  for (const auto& row : table.rows) {
    if (row[remote] == "198.51.100.77") {
      found_inbound = true;
      EXPECT_EQ(row[host], "10.0.0.25");
      EXPECT_EQ(row[column(table, "inbound")], 1);
      EXPECT_EQ(row[column(table, "outbound")], 0);
    }
  }
  EXPECT_TRUE(found_inbound);
}

TEST_F(BlocklistReportTest, ByHostPutsTheHostOnTwoListsFirst) {
  Table table = report(BlocklistGrouping::kHost);
  ASSERT_EQ(table.rows.size(), 3u);
  EXPECT_EQ(table.rows[0][column(table, "host")], "10.0.0.9");
  EXPECT_EQ(table.rows[0][column(table, "lists")], "botnet, spam");
  EXPECT_EQ(table.rows[0][column(table, "categories")], "botnet, spam");
  EXPECT_EQ(table.rows[0][column(table, "connections")], 4);
  EXPECT_EQ(table.rows[0][column(table, "remotes")], 3);
  EXPECT_EQ(table.rows[0][column(table, "first_seen")], format_iso8601(seconds(100), 3));
  EXPECT_EQ(table.rows[0][column(table, "last_seen")], format_iso8601(seconds(410), 3));
}

TEST_F(BlocklistReportTest, ByListCountsHostsAndRemotes) {
  Table table = report(BlocklistGrouping::kList);
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[0][column(table, "list")], "spam");
  EXPECT_EQ(table.rows[0][column(table, "hosts")], 3);
  EXPECT_EQ(table.rows[0][column(table, "remotes")], 3);
  EXPECT_EQ(table.rows[0][column(table, "connections")], 5);
  EXPECT_EQ(table.rows[1][column(table, "list")], "botnet");
  EXPECT_EQ(table.rows[1][column(table, "connections")], 1);
}

TEST_F(BlocklistReportTest, ByRemoteNamesListsAndHosts) {
  Table table = report(BlocklistGrouping::kRemote);
  ASSERT_EQ(table.rows.size(), 4u);
  EXPECT_EQ(table.rows[0][column(table, "remote")], "198.51.100.5");
  EXPECT_EQ(table.rows[0][column(table, "hosts")], 2);
  EXPECT_EQ(table.rows[0][column(table, "connections")], 3);
  EXPECT_EQ(table.rows[0][column(table, "lists")], "spam");
}

TEST_F(BlocklistReportTest, FiltersByTimeHostAndList) {
  ReportFilter since;
  since.since = seconds(250);
  since.until = seconds(550);
  Table table = report(BlocklistGrouping::kPair, since);
  EXPECT_EQ(table.rows.size(), 3u);  // 10.0.0.9 -> .6 and -> botnet, 10.0.0.2 -> .5

  ReportFilter host;
  host.host = "10.0.0.2";
  table = report(BlocklistGrouping::kPair, host);
  ASSERT_EQ(table.rows.size(), 1u);
  EXPECT_EQ(table.rows[0][column(table, "remote")], "198.51.100.5");

  table = report(BlocklistGrouping::kPair, {}, "botnet");
  ASSERT_EQ(table.rows.size(), 1u);
  EXPECT_EQ(table.rows[0][column(table, "remote")], "203.0.113.66");

  EXPECT_TRUE(report(BlocklistGrouping::kPair, {}, "no-such-list").rows.empty());
}

TEST(BlocklistGrouping, ParsesTheFourNames) {
  BlocklistGrouping grouping = BlocklistGrouping::kPair;
  EXPECT_TRUE(parse_blocklist_grouping("remote", &grouping));
  EXPECT_EQ(grouping, BlocklistGrouping::kRemote);
  EXPECT_TRUE(parse_blocklist_grouping("host", &grouping));
  EXPECT_EQ(grouping, BlocklistGrouping::kHost);
  EXPECT_FALSE(parse_blocklist_grouping("peer", &grouping));
}

}  // namespace
}  // namespace spamtap
