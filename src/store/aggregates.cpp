#include "store/aggregates.hpp"

#include <sqlite3.h>

#include <initializer_list>

namespace spamtap {

namespace {

constexpr const char* kAggregateSchema = R"sql(
CREATE TABLE IF NOT EXISTS agg_state (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS agg_flow_hour (
  host TEXT NOT NULL,
  role INTEGER NOT NULL,
  port INTEGER NOT NULL,
  protocol INTEGER NOT NULL,
  peer TEXT NOT NULL,
  hour INTEGER NOT NULL,
  host_local INTEGER NOT NULL,
  peer_local INTEGER NOT NULL,
  connections INTEGER NOT NULL,
  handshakes INTEGER NOT NULL,
  bytes_sent INTEGER NOT NULL,
  bytes_received INTEGER NOT NULL,
  first_ns INTEGER NOT NULL,
  last_ns INTEGER NOT NULL,
  PRIMARY KEY (host, role, port, protocol, peer, hour)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS agg_flow_hour_hour ON agg_flow_hour(hour);
CREATE TABLE IF NOT EXISTS agg_port_hour (
  host TEXT NOT NULL,
  role INTEGER NOT NULL,
  port INTEGER NOT NULL,
  protocol INTEGER NOT NULL,
  hour INTEGER NOT NULL,
  host_local INTEGER NOT NULL,
  connections INTEGER NOT NULL,
  handshakes INTEGER NOT NULL,
  bytes_sent INTEGER NOT NULL,
  bytes_received INTEGER NOT NULL,
  peers INTEGER NOT NULL,
  first_ns INTEGER NOT NULL,
  last_ns INTEGER NOT NULL,
  PRIMARY KEY (host, role, port, protocol, hour)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS agg_port_hour_hour ON agg_port_hour(hour);
CREATE TABLE IF NOT EXISTS agg_host_hour (
  host TEXT NOT NULL,
  role INTEGER NOT NULL,
  hour INTEGER NOT NULL,
  host_local INTEGER NOT NULL,
  connections INTEGER NOT NULL,
  bytes_sent INTEGER NOT NULL,
  bytes_received INTEGER NOT NULL,
  peers INTEGER NOT NULL,
  PRIMARY KEY (host, role, hour)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS agg_host_hour_hour ON agg_host_hour(hour);
CREATE TABLE IF NOT EXISTS novelty_seen (
  kind TEXT NOT NULL,
  host TEXT NOT NULL,
  protocol INTEGER NOT NULL,
  port INTEGER NOT NULL,
  list TEXT NOT NULL,
  first_ns INTEGER NOT NULL,
  run_id INTEGER NOT NULL,
  PRIMARY KEY (kind, host, protocol, port, list)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS novelty_seen_run ON novelty_seen(run_id);
CREATE INDEX IF NOT EXISTS connections_start ON connections(start_ns);
)sql";

// Both ends of each new connection: the originator as client (role 0), the responder
// as server (role 1). The service port is the responder's either way.
constexpr const char* kFoldFlows = R"sql(
INSERT INTO agg_flow_hour (host, role, port, protocol, peer, hour, host_local, peer_local,
  connections, handshakes, bytes_sent, bytes_received, first_ns, last_ns)
SELECT orig_addr, 0, resp_port, protocol, resp_addr, start_ns / 3600000000000,
  MAX(orig_local), MAX(resp_local), COUNT(*), SUM(handshake), SUM(orig_ip_bytes),
  SUM(resp_ip_bytes), MIN(start_ns), MAX(end_ns)
FROM connections WHERE id > ?1 AND id <= ?2
GROUP BY orig_addr, resp_port, protocol, resp_addr, start_ns / 3600000000000
UNION ALL
SELECT resp_addr, 1, resp_port, protocol, orig_addr, start_ns / 3600000000000,
  MAX(resp_local), MAX(orig_local), COUNT(*), SUM(handshake), SUM(resp_ip_bytes),
  SUM(orig_ip_bytes), MIN(start_ns), MAX(end_ns)
FROM connections WHERE id > ?1 AND id <= ?2
GROUP BY resp_addr, resp_port, protocol, orig_addr, start_ns / 3600000000000
ON CONFLICT (host, role, port, protocol, peer, hour) DO UPDATE SET
  host_local = MAX(host_local, excluded.host_local),
  peer_local = MAX(peer_local, excluded.peer_local),
  connections = connections + excluded.connections,
  handshakes = handshakes + excluded.handshakes,
  bytes_sent = bytes_sent + excluded.bytes_sent,
  bytes_received = bytes_received + excluded.bytes_received,
  first_ns = MIN(first_ns, excluded.first_ns),
  last_ns = MAX(last_ns, excluded.last_ns)
)sql";

constexpr const char* kRollupPorts = R"sql(
INSERT OR REPLACE INTO agg_port_hour
SELECT host, role, port, protocol, hour, MAX(host_local), SUM(connections), SUM(handshakes),
  SUM(bytes_sent), SUM(bytes_received), COUNT(*), MIN(first_ns), MAX(last_ns)
FROM agg_flow_hour WHERE hour >= ?1 AND hour <= ?2
GROUP BY host, role, port, protocol, hour
)sql";

constexpr const char* kRollupHosts = R"sql(
INSERT OR REPLACE INTO agg_host_hour
SELECT host, role, hour, MAX(host_local), SUM(connections), SUM(bytes_sent),
  SUM(bytes_received), COUNT(DISTINCT peer)
FROM agg_flow_hour WHERE hour >= ?1 AND hour <= ?2
GROUP BY host, role, hour
)sql";

// First sightings. Rows already present keep their run; an earlier time seen later
// (an older capture analyzed afterwards) moves first_ns back.
constexpr const char* kNoveltyUpsert =
    " ON CONFLICT (kind, host, protocol, port, list) DO UPDATE SET "
    "first_ns = MIN(first_ns, excluded.first_ns)";

constexpr const char* kSeenHosts =
    "INSERT INTO novelty_seen SELECT 'host', host, 0, 0, '', MIN(first_ns), ?3 "
    "FROM agg_flow_hour WHERE hour >= ?1 AND hour <= ?2 AND host_local = 1 GROUP BY host";

// A server port counts once the host answered on it: a completed handshake, or for
// UDP any reply.
constexpr const char* kSeenServerPorts =
    "INSERT INTO novelty_seen SELECT 'server_port', host, protocol, port, '', MIN(first_ns), "
    "?3 FROM agg_flow_hour WHERE hour >= ?1 AND hour <= ?2 AND host_local = 1 AND role = 1 "
    "AND (handshakes > 0 OR (protocol <> 6 AND bytes_sent > 0)) "
    "GROUP BY host, protocol, port";

constexpr const char* kSeenClientPorts =
    "INSERT INTO novelty_seen SELECT 'client_port', host, protocol, port, '', MIN(first_ns), "
    "?3 FROM agg_flow_hour WHERE hour >= ?1 AND hour <= ?2 AND host_local = 1 AND role = 0 "
    "GROUP BY host, protocol, port";

constexpr const char* kSeenListPairs =
    "INSERT INTO novelty_seen SELECT 'list_pair', host, 0, 0, list, joined_ns, ?3 "
    "FROM asset_members WHERE true";

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &statement_, nullptr) != SQLITE_OK) {
      sqlite3_finalize(statement_);
      statement_ = nullptr;
    }
  }
  ~Statement() { sqlite3_finalize(statement_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  sqlite3_stmt* get() const { return statement_; }

 private:
  sqlite3_stmt* statement_ = nullptr;
};

bool fail(sqlite3* db, std::string* error) {
  *error = sqlite3_errmsg(db);
  return false;
}

// Runs `sql` with the integers bound as ?1, ?2, ...; `result`, when given, receives
// the first column of the first row.
bool run(sqlite3* db, const char* sql, std::initializer_list<int64_t> values,
         std::string* error, int64_t* result = nullptr) {
  Statement statement(db, sql);
  if (!statement.get()) return fail(db, error);
  int index = 1;
  for (int64_t value : values) sqlite3_bind_int64(statement.get(), index++, value);
  int code = sqlite3_step(statement.get());
  if (code == SQLITE_ROW && result) *result = sqlite3_column_int64(statement.get(), 0);
  if (code != SQLITE_ROW && code != SQLITE_DONE) return fail(db, error);
  return true;
}

bool read_state(sqlite3* db, const char* key, int64_t* value, std::string* error) {
  Statement statement(db, "SELECT value FROM agg_state WHERE key = ?1");
  if (!statement.get()) return fail(db, error);
  sqlite3_bind_text(statement.get(), 1, key, -1, SQLITE_STATIC);
  if (sqlite3_step(statement.get()) == SQLITE_ROW) {
    *value = sqlite3_column_int64(statement.get(), 0);
  }
  return true;
}

bool write_state(sqlite3* db, const char* key, int64_t value, std::string* error) {
  Statement statement(db, "INSERT OR REPLACE INTO agg_state (key, value) VALUES (?1, ?2)");
  if (!statement.get()) return fail(db, error);
  sqlite3_bind_text(statement.get(), 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_int64(statement.get(), 2, value);
  if (sqlite3_step(statement.get()) != SQLITE_DONE) return fail(db, error);
  return true;
}

}  // namespace

bool create_aggregate_tables(sqlite3* db, std::string* error) {
  char* message = nullptr;
  if (sqlite3_exec(db, kAggregateSchema, nullptr, nullptr, &message) != SQLITE_OK) {
    *error = std::string("cannot create the aggregate tables: ") +
             (message ? message : "unknown error");
    sqlite3_free(message);
    return false;
  }
  return true;
}

bool update_aggregates(sqlite3* db, AggregateUpdate* update, std::string* error) {
  int64_t done = 0;
  int64_t last_id = 0;
  if (!read_state(db, "connections_done", &done, error)) return false;
  if (!run(db, "SELECT COALESCE(MAX(id), 0) FROM connections", {}, error, &last_id)) {
    return false;
  }
  if (!run(db, "SELECT COALESCE(MAX(id), 0) FROM runs", {}, error, &update->run_id)) {
    return false;
  }

  int64_t first_hour = 0;
  int64_t last_hour = -1;
  if (last_id > done) {
    if (!run(db, "SELECT MIN(start_ns) / 3600000000000 FROM connections WHERE id > ?1", {done},
             error, &first_hour) ||
        !run(db, "SELECT MAX(start_ns) / 3600000000000 FROM connections WHERE id > ?1", {done},
             error, &last_hour) ||
        !run(db, "SELECT COUNT(*) FROM connections WHERE id > ?1 AND id <= ?2", {done, last_id},
             error, &update->connections)) {
      return false;
    }
    if (!run(db, kFoldFlows, {done, last_id}, error)) return false;
    if (!run(db, kRollupPorts, {first_hour, last_hour}, error)) return false;
    if (!run(db, kRollupHosts, {first_hour, last_hour}, error)) return false;
    for (const char* sighting : {kSeenHosts, kSeenServerPorts, kSeenClientPorts}) {
      std::string sql = std::string(sighting) + kNoveltyUpsert;
      if (!run(db, sql.c_str(), {first_hour, last_hour, update->run_id}, error)) return false;
    }
    int64_t learning_run = 0;
    if (!read_state(db, "learning_run", &learning_run, error)) return false;
    if (learning_run == 0 && !write_state(db, "learning_run", update->run_id, error)) {
      return false;
    }
  }
  std::string pairs = std::string(kSeenListPairs) + kNoveltyUpsert;
  if (!run(db, pairs.c_str(), {0, 0, update->run_id}, error)) return false;
  if (!write_state(db, "connections_done", last_id, error)) return false;
  update->first_hour = first_hour;
  update->last_hour = last_hour;
  return true;
}

bool update_aggregates(sqlite3* db) {
  AggregateUpdate update;
  std::string error;
  return update_aggregates(db, &update, &error);
}

}  // namespace spamtap
