#include "analysis/suspects.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include "detect/catalog.hpp"
#include "store/peer_sketch.hpp"

namespace spamtap {

namespace {

// A prepared statement that finalizes itself.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &statement_, nullptr); }
  ~Statement() { sqlite3_finalize(statement_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  sqlite3_stmt* get() const { return statement_; }
  bool ok() const { return statement_ != nullptr; }

 private:
  sqlite3_stmt* statement_ = nullptr;
};

std::string column_text(sqlite3_stmt* statement, int index) {
  const unsigned char* text = sqlite3_column_text(statement, index);
  return text ? reinterpret_cast<const char*>(text) : "";
}

}  // namespace

void bind_event_filter(sqlite3_stmt* statement, const ReportFilter& filter) {
  if (filter.since) {
    sqlite3_bind_int64(statement, 1, *filter.since);
  } else {
    sqlite3_bind_null(statement, 1);
  }
  if (filter.until) {
    sqlite3_bind_int64(statement, 2, *filter.until);
  } else {
    sqlite3_bind_null(statement, 2);
  }
  sqlite3_bind_text(statement, 3, filter.host.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(statement, 4, filter.asset.c_str(), -1, SQLITE_TRANSIENT);
}

const char* const kEventFilterSql =
    "(?1 IS NULL OR time_ns >= ?1) AND (?2 IS NULL OR time_ns < ?2) AND (?3 = '' OR host = ?3) "
    "AND (?4 = '' OR host IN (SELECT host FROM asset_members WHERE list = ?4))";

// LIMITATION: a store in WAL mode on a read-only filesystem cannot be opened for reports.
sqlite3* open_store_for_reading(const std::string& path, std::string* error) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    *error = path + ": cannot open the store: " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return nullptr;
  }
  sqlite3_stmt* probe = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT 1 FROM events LIMIT 1", -1, &probe, nullptr) != SQLITE_OK) {
    *error = path + ": not a spamtap store (" + sqlite3_errmsg(db) +
             "); create one with 'spamtap analyze --db " + path + " CAPTURE'";
    sqlite3_finalize(probe);
    sqlite3_close(db);
    return nullptr;
  }
  sqlite3_finalize(probe);
  register_sketch_functions(db);
  return db;
}

Table suspects_report(sqlite3* db, const ReportFilter& filter) {
  Table table;
  table.columns = {"host",  "first_seen", "last_seen", "events",  "servers",
                   "rules", "rule_names", "summary",   "evidence"};

  std::string hosts_sql = fmt::format(
      "SELECT host, MIN(time_ns), MAX(time_ns), COUNT(*), COUNT(DISTINCT peer) FROM events "
      "WHERE {} GROUP BY host ORDER BY COUNT(*) DESC, host",
      kEventFilterSql);
  Statement hosts(db, hosts_sql.c_str());
  std::string rules_sql = fmt::format(
      "SELECT rule, COUNT(*) FROM events WHERE {} GROUP BY rule ORDER BY rule", kEventFilterSql);
  Statement rules(db, rules_sql.c_str());
  std::string sample_sql = fmt::format(
      "SELECT summary, evidence FROM events WHERE {} ORDER BY CASE severity "
      "WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, time_ns LIMIT 1",
      kEventFilterSql);
  Statement sample(db, sample_sql.c_str());
  if (!hosts.ok() || !rules.ok() || !sample.ok()) return table;

  bind_event_filter(hosts.get(), filter);
  while (sqlite3_step(hosts.get()) == SQLITE_ROW) {
    std::string host = column_text(hosts.get(), 0);
    ReportFilter per_host = filter;
    per_host.host = host;

    std::string rule_counts;
    std::string rule_names;
    bind_event_filter(rules.get(), per_host);
    while (sqlite3_step(rules.get()) == SQLITE_ROW) {
      int rule = sqlite3_column_int(rules.get(), 0);
      int64_t count = sqlite3_column_int64(rules.get(), 1);
      const RuleInfo* info = find_rule(rule);
      rule_counts += fmt::format("{}{}:{}", rule_counts.empty() ? "" : ",", rule, count);
      rule_names += fmt::format("{}{}", rule_names.empty() ? "" : ", ",
                                info ? info->name : std::string_view("unknown"));
    }
    sqlite3_reset(rules.get());

    std::string summary;
    std::string evidence;
    bind_event_filter(sample.get(), per_host);
    if (sqlite3_step(sample.get()) == SQLITE_ROW) {
      summary = column_text(sample.get(), 0);
      evidence = column_text(sample.get(), 1);
    }
    sqlite3_reset(sample.get());

    table.rows.push_back({host, format_iso8601(sqlite3_column_int64(hosts.get(), 1), 3),
                          format_iso8601(sqlite3_column_int64(hosts.get(), 2), 3),
                          sqlite3_column_int64(hosts.get(), 3),
                          sqlite3_column_int64(hosts.get(), 4), rule_counts, rule_names, summary,
                          evidence});
  }
  return table;
}

Table anomalies_report(sqlite3* db, const ReportFilter& filter) {
  Table table;
  table.columns = {"name", "count", "connections", "first_seen", "last_seen", "sample"};
  Statement statement(
      db,
      "SELECT name, COUNT(*), COUNT(DISTINCT connection_id), MIN(time_ns), MAX(time_ns), "
      "MIN(detail) FROM anomalies WHERE (?1 IS NULL OR time_ns >= ?1) AND "
      "(?2 IS NULL OR time_ns < ?2) AND (?3 = '' OR connection_id IN (SELECT id FROM "
      "connections WHERE orig_addr = ?3 OR resp_addr = ?3)) AND (?4 = '' OR connection_id IN "
      "(SELECT c.id FROM connections c JOIN asset_members a ON a.list = ?4 AND "
      "(a.host = c.orig_addr OR a.host = c.resp_addr))) GROUP BY name "
      "ORDER BY COUNT(*) DESC, name");
  if (!statement.ok()) return table;
  bind_event_filter(statement.get(), filter);
  while (sqlite3_step(statement.get()) == SQLITE_ROW) {
    table.rows.push_back({column_text(statement.get(), 0), sqlite3_column_int64(statement.get(), 1),
                          sqlite3_column_int64(statement.get(), 2),
                          format_iso8601(sqlite3_column_int64(statement.get(), 3), 3),
                          format_iso8601(sqlite3_column_int64(statement.get(), 4), 3),
                          column_text(statement.get(), 5)});
  }
  return table;
}

}  // namespace spamtap
