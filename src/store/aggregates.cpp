#include "store/aggregates.hpp"

#include <sqlite3.h>

#include <initializer_list>

#include "store/peer_sketch.hpp"

namespace spamtap {

namespace {

constexpr const char* kDropOldAggregates = R"sql(
DROP TABLE IF EXISTS agg_flow_hour;
DROP TABLE IF EXISTS agg_port_hour;
DROP TABLE IF EXISTS agg_port_day;
DROP TABLE IF EXISTS agg_port_total;
DROP TABLE IF EXISTS agg_host_hour;
DROP TABLE IF EXISTS agg_host_day;
DROP TABLE IF EXISTS agg_host_total;
)sql";

// Every aggregate table has the same measure columns; the port tables add the outside_*
// ones. host_local is part of each key because the '*' rows exist once for the local
// and once for the remote hosts.
constexpr const char* kAggregateSchema = R"sql(
CREATE TABLE IF NOT EXISTS agg_state (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS agg_port_hour (
  host TEXT NOT NULL,
  host_local INTEGER NOT NULL,
  role INTEGER NOT NULL,
  port INTEGER NOT NULL,
  protocol INTEGER NOT NULL,
  hour INTEGER NOT NULL,
  hosts BLOB,
  connections INTEGER NOT NULL,
  local_peer_connections INTEGER NOT NULL,
  handshakes INTEGER NOT NULL,
  bytes_sent INTEGER NOT NULL,
  bytes_received INTEGER NOT NULL,
  first_ns INTEGER NOT NULL,
  last_ns INTEGER NOT NULL,
  peers BLOB,
  outside_handshakes INTEGER NOT NULL,
  outside_peers BLOB,
  outside_first_ns INTEGER,
  outside_last_ns INTEGER,
  PRIMARY KEY (hour, host, host_local, role, port, protocol)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS agg_port_hour_host ON agg_port_hour(host, hour);
CREATE TABLE IF NOT EXISTS agg_port_day (
  host TEXT NOT NULL,
  host_local INTEGER NOT NULL,
  role INTEGER NOT NULL,
  port INTEGER NOT NULL,
  protocol INTEGER NOT NULL,
  hour INTEGER NOT NULL,
  hosts BLOB,
  connections INTEGER NOT NULL,
  local_peer_connections INTEGER NOT NULL,
  handshakes INTEGER NOT NULL,
  bytes_sent INTEGER NOT NULL,
  bytes_received INTEGER NOT NULL,
  first_ns INTEGER NOT NULL,
  last_ns INTEGER NOT NULL,
  peers BLOB,
  outside_handshakes INTEGER NOT NULL,
  outside_peers BLOB,
  outside_first_ns INTEGER,
  outside_last_ns INTEGER,
  PRIMARY KEY (hour, host, host_local, role, port, protocol)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS agg_port_day_host ON agg_port_day(host, hour);
CREATE TABLE IF NOT EXISTS agg_port_total (
  host TEXT NOT NULL,
  host_local INTEGER NOT NULL,
  role INTEGER NOT NULL,
  port INTEGER NOT NULL,
  protocol INTEGER NOT NULL,
  hosts BLOB,
  connections INTEGER NOT NULL,
  local_peer_connections INTEGER NOT NULL,
  handshakes INTEGER NOT NULL,
  bytes_sent INTEGER NOT NULL,
  bytes_received INTEGER NOT NULL,
  first_ns INTEGER NOT NULL,
  last_ns INTEGER NOT NULL,
  peers BLOB,
  outside_handshakes INTEGER NOT NULL,
  outside_peers BLOB,
  outside_first_ns INTEGER,
  outside_last_ns INTEGER,
  PRIMARY KEY (host, host_local, role, port, protocol)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS agg_host_hour (
  host TEXT NOT NULL,
  host_local INTEGER NOT NULL,
  role INTEGER NOT NULL,
  hour INTEGER NOT NULL,
  hosts BLOB,
  connections INTEGER NOT NULL,
  local_peer_connections INTEGER NOT NULL,
  handshakes INTEGER NOT NULL,
  bytes_sent INTEGER NOT NULL,
  bytes_received INTEGER NOT NULL,
  first_ns INTEGER NOT NULL,
  last_ns INTEGER NOT NULL,
  peers BLOB,
  PRIMARY KEY (hour, host, host_local, role)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS agg_host_hour_host ON agg_host_hour(host, hour);
CREATE TABLE IF NOT EXISTS agg_host_day (
  host TEXT NOT NULL,
  host_local INTEGER NOT NULL,
  role INTEGER NOT NULL,
  hour INTEGER NOT NULL,
  hosts BLOB,
  connections INTEGER NOT NULL,
  local_peer_connections INTEGER NOT NULL,
  handshakes INTEGER NOT NULL,
  bytes_sent INTEGER NOT NULL,
  bytes_received INTEGER NOT NULL,
  first_ns INTEGER NOT NULL,
  last_ns INTEGER NOT NULL,
  peers BLOB,
  PRIMARY KEY (hour, host, host_local, role)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS agg_host_day_host ON agg_host_day(host, hour);
CREATE TABLE IF NOT EXISTS agg_host_total (
  host TEXT NOT NULL,
  host_local INTEGER NOT NULL,
  role INTEGER NOT NULL,
  hosts BLOB,
  connections INTEGER NOT NULL,
  local_peer_connections INTEGER NOT NULL,
  handshakes INTEGER NOT NULL,
  bytes_sent INTEGER NOT NULL,
  bytes_received INTEGER NOT NULL,
  first_ns INTEGER NOT NULL,
  last_ns INTEGER NOT NULL,
  peers BLOB,
  PRIMARY KEY (host, host_local, role)
) WITHOUT ROWID;
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

// The new connections, grouped once from each end: the originator as client (role 0),
// the responder as server (role 1); the service port is the responder's either way.
// answered_ns is the first connection the host answered as a server (a completed
// handshake, or for UDP any reply), for novelty.
constexpr const char* kGroupRun = R"sql(
CREATE TEMP TABLE run_ports AS
SELECT orig_addr AS host, MAX(orig_local) AS host_local, 0 AS role, resp_port AS port,
  protocol, start_ns / 3600000000000 AS hour, sketch_of(orig_addr) AS hosts,
  COUNT(*) AS connections, SUM(resp_local) AS local_peer_connections,
  SUM(handshake) AS handshakes, SUM(orig_ip_bytes) AS bytes_sent,
  SUM(resp_ip_bytes) AS bytes_received, MIN(start_ns) AS first_ns, MAX(end_ns) AS last_ns,
  sketch_of(resp_addr) AS peers, 0 AS outside_handshakes, NULL AS outside_peers,
  NULL AS outside_first_ns, NULL AS outside_last_ns, NULL AS answered_ns
FROM connections WHERE id > ?1 AND id <= ?2
GROUP BY orig_addr, resp_port, protocol, start_ns / 3600000000000
UNION ALL
SELECT resp_addr, MAX(resp_local), 1, resp_port, protocol, start_ns / 3600000000000,
  sketch_of(resp_addr), COUNT(*), SUM(orig_local), SUM(handshake), SUM(resp_ip_bytes),
  SUM(orig_ip_bytes), MIN(start_ns), MAX(end_ns), sketch_of(orig_addr),
  SUM(orig_local = 0 AND handshake = 1),
  sketch_of(CASE WHEN orig_local = 0 AND handshake = 1 THEN orig_addr END),
  MIN(CASE WHEN orig_local = 0 AND handshake = 1 THEN start_ns END),
  MAX(CASE WHEN orig_local = 0 AND handshake = 1 THEN end_ns END),
  MIN(CASE WHEN handshake = 1 OR (protocol <> 6 AND resp_ip_bytes > 0) THEN start_ns END)
FROM connections WHERE id > ?1 AND id <= ?2
GROUP BY resp_addr, resp_port, protocol, start_ns / 3600000000000
)sql";

// The '*' rows of the run: all local hosts together, and all remote ones.
constexpr const char* kGroupAllHosts = R"sql(
INSERT INTO run_ports
SELECT '*', host_local, role, port, protocol, hour, sketch_union(hosts), SUM(connections),
  SUM(local_peer_connections), SUM(handshakes), SUM(bytes_sent), SUM(bytes_received),
  MIN(first_ns), MAX(last_ns), sketch_union(peers), SUM(outside_handshakes),
  sketch_union(outside_peers),
  MIN(outside_first_ns), MAX(outside_last_ns), NULL
FROM run_ports GROUP BY host_local, role, port, protocol, hour
)sql";

// Folding into a table: counts add, times widen, sketches merge. MIN and MAX with a
// NULL argument are NULL in SQLite, hence the COALESCE for the optional times.
constexpr const char* kMergeMeasures =
    "hosts = sketch_merge(hosts, excluded.hosts), "
    "connections = connections + excluded.connections, "
    "local_peer_connections = local_peer_connections + excluded.local_peer_connections, "
    "handshakes = handshakes + excluded.handshakes, "
    "bytes_sent = bytes_sent + excluded.bytes_sent, "
    "bytes_received = bytes_received + excluded.bytes_received, "
    "first_ns = MIN(first_ns, excluded.first_ns), last_ns = MAX(last_ns, excluded.last_ns), "
    "peers = sketch_merge(peers, excluded.peers)";
constexpr const char* kMergeOutside =
    ", outside_handshakes = outside_handshakes + excluded.outside_handshakes, "
    "outside_peers = sketch_merge(outside_peers, excluded.outside_peers), "
    "outside_first_ns = MIN(COALESCE(outside_first_ns, excluded.outside_first_ns), "
    "COALESCE(excluded.outside_first_ns, outside_first_ns)), "
    "outside_last_ns = MAX(COALESCE(outside_last_ns, excluded.outside_last_ns), "
    "COALESCE(excluded.outside_last_ns, outside_last_ns))";

constexpr const char* kMeasures =
    "sketch_union(hosts), SUM(connections), SUM(local_peer_connections), SUM(handshakes), "
    "SUM(bytes_sent), SUM(bytes_received), MIN(first_ns), MAX(last_ns), sketch_union(peers)";
constexpr const char* kOutsideMeasures =
    ", SUM(outside_handshakes), sketch_union(outside_peers), MIN(outside_first_ns), "
    "MAX(outside_last_ns)";

struct Fold {
  const char* table;
  const char* keys;    // the table's key, as grouped from run_ports
  const char* select;  // the key as selected from run_ports
  bool outside;
};

// Day rows carry the first hour of their day in `hour`, so that hour ranges and buckets
// read them like hour rows. The hour and day tables are keyed by time first: a time
// range is one sweep, and the (host, hour) index serves one host or the '*' rows.
constexpr Fold kFolds[] = {
    {"agg_port_hour", "hour, host, host_local, role, port, protocol",
     "hour, host, host_local, role, port, protocol", true},
    {"agg_port_day", "hour, host, host_local, role, port, protocol",
     "hour / 24 * 24, host, host_local, role, port, protocol", true},
    {"agg_port_total", "host, host_local, role, port, protocol",
     "host, host_local, role, port, protocol", true},
    {"agg_host_hour", "hour, host, host_local, role", "hour, host, host_local, role", false},
    {"agg_host_day", "hour, host, host_local, role", "hour / 24 * 24, host, host_local, role",
     false},
    {"agg_host_total", "host, host_local, role", "host, host_local, role", false},
};

std::string fold_sql(const Fold& fold) {
  return "INSERT INTO " + std::string(fold.table) + " (" + fold.keys +
         ", hosts, connections, local_peer_connections, " +
         "handshakes, bytes_sent, bytes_received, first_ns, last_ns, peers" +
         (fold.outside ? ", outside_handshakes, outside_peers, outside_first_ns, "
                         "outside_last_ns"
                       : "") +
         ") SELECT " + fold.select + ", " + kMeasures + (fold.outside ? kOutsideMeasures : "") +
         " FROM run_ports GROUP BY " + fold.select + " ON CONFLICT (" + fold.keys +
         ") DO UPDATE SET " + kMergeMeasures + (fold.outside ? kMergeOutside : "");
}

// First sightings. Rows already present keep their run; an earlier time seen later
// (an older capture analyzed afterwards) moves first_ns back.
constexpr const char* kNoveltyUpsert =
    " ON CONFLICT (kind, host, protocol, port, list) DO UPDATE SET "
    "first_ns = MIN(first_ns, excluded.first_ns)";

constexpr const char* kSeenHosts =
    "INSERT INTO novelty_seen SELECT 'host', host, 0, 0, '', MIN(first_ns), ?1 "
    "FROM run_ports WHERE host <> '*' AND host_local = 1 GROUP BY host";

constexpr const char* kSeenServerPorts =
    "INSERT INTO novelty_seen SELECT 'server_port', host, protocol, port, '', "
    "MIN(answered_ns), ?1 FROM run_ports WHERE host <> '*' AND host_local = 1 AND role = 1 "
    "AND answered_ns IS NOT NULL GROUP BY host, protocol, port";

constexpr const char* kSeenClientPorts =
    "INSERT INTO novelty_seen SELECT 'client_port', host, protocol, port, '', MIN(first_ns), "
    "?1 FROM run_ports WHERE host <> '*' AND host_local = 1 AND role = 0 "
    "GROUP BY host, protocol, port";

constexpr const char* kSeenListPairs =
    "INSERT INTO novelty_seen SELECT 'list_pair', host, 0, 0, list, joined_ns, ?1 "
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
bool run(sqlite3* db, const char* sql, std::initializer_list<int64_t> values, std::string* error,
         int64_t* result = nullptr) {
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
  if (!register_sketch_functions(db)) {
    *error = std::string("cannot register the sketch functions: ") + sqlite3_errmsg(db);
    return false;
  }
  // Aggregates of an older layout are dropped and rebuilt from the connections by the
  // next update; novelty_seen keeps its layout and its history.
  int64_t version = 0;  // a new store has no agg_state yet
  std::string ignored;
  read_state(db, "schema_version", &version, &ignored);
  std::string setup = kAggregateSchema;
  if (version != kAggregateSchemaVersion) {
    setup = std::string(kDropOldAggregates) + setup;
  }
  char* message = nullptr;
  if (sqlite3_exec(db, setup.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    *error =
        std::string("cannot create the aggregate tables: ") + (message ? message : "unknown error");
    sqlite3_free(message);
    return false;
  }
  if (version != kAggregateSchemaVersion) {
    if (!write_state(db, "schema_version", kAggregateSchemaVersion, error) ||
        !write_state(db, "connections_done", 0, error)) {
      return false;
    }
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
    if (!run(db, "DROP TABLE IF EXISTS temp.run_ports", {}, error) ||
        !run(db, kGroupRun, {done, last_id}, error) || !run(db, kGroupAllHosts, {}, error) ||
        !run(db, "SELECT MIN(hour) FROM run_ports", {}, error, &first_hour) ||
        !run(db, "SELECT MAX(hour) FROM run_ports", {}, error, &last_hour) ||
        !run(db, "SELECT SUM(connections) FROM run_ports WHERE host = '*' AND role = 0", {}, error,
             &update->connections)) {
      return false;
    }
    for (const Fold& fold : kFolds) {
      if (!run(db, fold_sql(fold).c_str(), {}, error)) return false;
    }
    for (const char* sighting : {kSeenHosts, kSeenServerPorts, kSeenClientPorts}) {
      std::string sql = std::string(sighting) + kNoveltyUpsert;
      if (!run(db, sql.c_str(), {update->run_id}, error)) return false;
    }
    if (!run(db, "DROP TABLE temp.run_ports", {}, error)) return false;
    // Without statistics the planner prefers the narrow hour indexes even for reports
    // that read most rows, and pays a lookup per row. Sampled statistics misjudge the
    // table sizes, so these small tables are analyzed in full.
    for (const Fold& fold : kFolds) {
      if (!run(db, ("ANALYZE " + std::string(fold.table)).c_str(), {}, error)) return false;
    }
    int64_t learning_run = 0;
    if (!read_state(db, "learning_run", &learning_run, error)) return false;
    if (learning_run == 0 && !write_state(db, "learning_run", update->run_id, error)) {
      return false;
    }
  }
  std::string pairs = std::string(kSeenListPairs) + kNoveltyUpsert;
  if (!run(db, pairs.c_str(), {update->run_id}, error)) return false;
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
