#include "store/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "analysis/report_layer.hpp"
#include "analysis/suspects.hpp"
#include "core/text.hpp"

namespace spamtap {
namespace {

// A store is three files in WAL mode.
void remove_store(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}


std::string temp_path(const char* name) {
  return (std::filesystem::temp_directory_path() /
          (std::string(name) + "-" + std::to_string(getpid()) + ".db"))
      .string();
}

Event event(const char* host, int rule, int64_t second, const std::string& evidence) {
  Event e;
  e.time = seconds(second);
  e.host = *IpAddress::parse(host);
  e.peer = *IpAddress::parse("198.51.100.25");
  e.peer_port = 25;
  e.rule = rule;
  e.severity = Severity::kHigh;
  e.connection_id = 1;
  e.summary = "s";
  e.evidence = evidence;
  return e;
}

TEST(SqliteStore, EventsRoundTripIntoTheSuspectsReport) {
  std::string path = temp_path("spamtap-store");
  remove_store(path);
  {
    std::string error;
    auto store = SqliteStore::open(path, &error, 2);
    ASSERT_TRUE(store) << error;
    // Hostile evidence: quotes for SQL, a NUL-free control sequence, invalid UTF-8.
    store->write_event(event("10.0.0.66", 4122, 100, "554 '); DROP TABLE events; --"));
    store->write_event(event("10.0.0.66", 4122, 160, "554 relay denied"));
    store->write_event(event("10.0.0.66", 4124, 130, "554 \x1b[31mred\xff"));
    store->write_event(event("10.0.0.7", 4123, 50, "550 5.1.1 unknown"));
    store->flush();
    EXPECT_EQ(store->write_errors(), 0u);
  }
  std::string error;
  sqlite3* db = open_store_for_reading(path, &error);
  ASSERT_NE(db, nullptr) << error;
  Table table = suspects_report(db, {});
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[0][0], "10.0.0.66");
  EXPECT_EQ(table.rows[0][3], 3);
  EXPECT_EQ(table.rows[0][5], "4122:2,4124:1");
  EXPECT_EQ(table.rows[0][1], "1970-01-01T00:01:40.000Z");
  EXPECT_EQ(table.rows[0][2], "1970-01-01T00:02:40.000Z");
  EXPECT_EQ(table.rows[1][0], "10.0.0.7");

  // Time filter: only events at or after 02:00 (120 s).
  ReportFilter late;
  late.since = seconds(120);
  Table filtered = suspects_report(db, late);
  ASSERT_EQ(filtered.rows.size(), 1u);
  EXPECT_EQ(filtered.rows[0][3], 2);

  // The table rendering shows control bytes escaped, never raw.
  ReportFilter host;
  host.host = "10.0.0.66";
  host.since = seconds(125);
  host.until = seconds(135);
  std::ostringstream out;
  render(suspects_report(db, host), OutputFormat::kTable, out);
  EXPECT_EQ(out.str().find('\x1b'), std::string::npos);
  EXPECT_NE(out.str().find("\\x1b[31mred"), std::string::npos);
  sqlite3_close(db);
  remove_store(path);
}

Connection https(uint64_t id, const char* client, const char* server, int64_t second) {
  Connection c;
  c.id = id;
  c.key.protocol = 6;
  c.key.originator = *IpAddress::parse(client);
  c.key.originator_port = static_cast<uint16_t>(40000 + id);
  c.key.responder = *IpAddress::parse(server);
  c.key.responder_port = 443;
  c.originator_local = true;
  c.first_time = seconds(second);
  c.last_time = seconds(second + 1);
  c.originator.ip_bytes = 100;
  c.responder.ip_bytes = 1000;
  return c;
}

TEST(SqliteStore, AggregatesOfAnOlderLayoutAreRebuiltFromTheConnections) {
  // One run: 10.0.0.5 opens two connections to 198.51.100.1 and one to 198.51.100.2.
  std::string path = temp_path("spamtap-rebuild");
  remove_store(path);
  {
    std::string error;
    auto store = SqliteStore::open(path, &error);
    ASSERT_TRUE(store) << error;
    store->write_connection(https(1, "10.0.0.5", "198.51.100.1", 10));
    store->write_connection(https(2, "10.0.0.5", "198.51.100.1", 20));
    store->write_connection(https(3, "10.0.0.5", "198.51.100.2", 30));
    store->write_run({});
    store->flush();
    ASSERT_EQ(store->write_errors(), 0u) << store->last_error();
  }
  // The store as an older spamtap left it: another layout version, other tables.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         "UPDATE agg_state SET value = 1 WHERE key = 'schema_version';"
                         "DROP TABLE agg_port_total; CREATE TABLE agg_flow_hour (x);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);

  auto ports = [&](Table* table, std::string* error) {
    sqlite3* db = open_store_for_reading(path, error);
    if (!db) return false;
    SqliteSource source(db);
    bool ok = run_report(source, "ports", {}, table, error);
    sqlite3_close(db);
    return ok;
  };
  Table table;
  std::string error;
  EXPECT_FALSE(ports(&table, &error));  // refused, not misread
  EXPECT_NE(error.find("older spamtap"), std::string::npos) << error;

  {
    auto store = SqliteStore::open(path, &error);  // rebuilt at the end of the next run
    ASSERT_TRUE(store) << error;
    store->write_run({});
    store->flush();
    ASSERT_EQ(store->write_errors(), 0u) << store->last_error();
  }
  table = {};
  ASSERT_TRUE(ports(&table, &error)) << error;
  ASSERT_EQ(table.rows.size(), 1u);
  EXPECT_EQ(table.rows[0][2], 443);  // port
  EXPECT_EQ(table.rows[0][3], 1);    // hosts
  EXPECT_EQ(table.rows[0][4], 3);    // connections
  EXPECT_EQ(table.rows[0][6], 300);  // bytes sent
  EXPECT_EQ(table.rows[0][8], 2);    // peers
  remove_store(path);
}

TEST(SqliteStore, UnwritablePathIsAClearError) {
  std::string error;
  auto store = SqliteStore::open("/nonexistent-dir/x.db", &error);
  EXPECT_FALSE(store);
  EXPECT_NE(error.find("/nonexistent-dir/x.db"), std::string::npos);
}

TEST(SqliteStore, ReadingSomethingElseIsAClearError) {
  std::string path = temp_path("spamtap-notastore");
  FILE* file = fopen(path.c_str(), "w");
  fputs("this is not a database", file);
  fclose(file);
  std::string error;
  EXPECT_EQ(open_store_for_reading(path, &error), nullptr);
  EXPECT_NE(error.find(path), std::string::npos);
  remove_store(path);
}

TEST(Text, EscapesControlAndRepairsUtf8) {
  EXPECT_EQ(escape_control("a\r\nb"), "a\\x0d\\x0ab");
  EXPECT_EQ(to_valid_utf8("ok\xff"), "ok\xEF\xBF\xBD");
  EXPECT_EQ(to_valid_utf8("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(escape_control("\xC2\x9B"
                           "31m"),
            "\\x9b31m");
  EXPECT_EQ(std::string(truncate_utf8("caf\xC3\xA9", 4)), "caf");
  // Right-to-left override (U+202E) and line separator (U+2028) are shown, not obeyed.
  EXPECT_EQ(escape_control("a\xE2\x80\xAEgpj.exe"), "a\\u202egpj.exe");
  EXPECT_EQ(escape_control("x\xE2\x80\xA8y"), "x\\u2028y");
  EXPECT_EQ(escape_control("\xE2\x80\x94"), "\xE2\x80\x94");  // an em dash stays
}

TEST(CsvOutput, QuotesAndDefusesFormulas) {
  Table table;
  table.columns = {"a", "b"};
  table.rows.push_back({"=cmd|' /C calc'!A0", "x,\"y\"\nz"});
  std::ostringstream out;
  render(table, OutputFormat::kCsv, out);
  // Quotes doubled, the formula defused, and the line break from the wire shown as \x0a.
  EXPECT_EQ(out.str(), "a,b\r\n'=cmd|' /C calc'!A0,\"x,\"\"y\"\"\\x0az\"\r\n");
}

}  // namespace
}  // namespace spamtap
