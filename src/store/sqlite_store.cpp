#include "store/sqlite_store.hpp"

#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "core/text.hpp"
#include "store/aggregates.hpp"

namespace spamtap {

const char* const kSqliteSchema = R"sql(
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY,
  started_ns INTEGER NOT NULL,
  first_packet_ns INTEGER,
  last_packet_ns INTEGER,
  inputs TEXT NOT NULL,
  counters TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS connections (
  id INTEGER PRIMARY KEY,
  start_ns INTEGER NOT NULL,
  end_ns INTEGER NOT NULL,
  protocol INTEGER NOT NULL,
  orig_addr TEXT NOT NULL,
  orig_port INTEGER NOT NULL,
  resp_addr TEXT NOT NULL,
  resp_port INTEGER NOT NULL,
  orig_local INTEGER NOT NULL,
  resp_local INTEGER NOT NULL,
  orig_packets INTEGER NOT NULL,
  orig_ip_bytes INTEGER NOT NULL,
  orig_payload_bytes INTEGER NOT NULL,
  resp_packets INTEGER NOT NULL,
  resp_ip_bytes INTEGER NOT NULL,
  resp_payload_bytes INTEGER NOT NULL,
  state TEXT NOT NULL,
  handshake INTEGER NOT NULL,
  ended_by TEXT NOT NULL,
  role_rule TEXT NOT NULL,
  service TEXT,
  missed_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS connections_orig ON connections(orig_addr, start_ns);
CREATE INDEX IF NOT EXISTS connections_resp ON connections(resp_addr, start_ns);
CREATE TABLE IF NOT EXISTS smtp_transactions (
  id INTEGER PRIMARY KEY,
  connection_id INTEGER NOT NULL,
  time_ns INTEGER NOT NULL,
  client TEXT NOT NULL,
  server TEXT NOT NULL,
  server_port INTEGER NOT NULL,
  helo TEXT,
  mail_from TEXT,
  mail_code INTEGER,
  recipients_accepted INTEGER NOT NULL,
  recipients_refused INTEGER NOT NULL,
  data_code INTEGER,
  end_of_data_code INTEGER,
  end_of_data_text TEXT,
  message_bytes INTEGER,
  x_mailer TEXT,
  user_agent TEXT,
  message_id TEXT,
  date TEXT,
  subject TEXT
);
CREATE INDEX IF NOT EXISTS smtp_client ON smtp_transactions(client, time_ns);
CREATE TABLE IF NOT EXISTS smtp_recipients (
  transaction_id INTEGER NOT NULL,
  address TEXT NOT NULL,
  code INTEGER NOT NULL,
  enhanced_status TEXT,
  text TEXT
);
CREATE INDEX IF NOT EXISTS smtp_recipients_tx ON smtp_recipients(transaction_id);
CREATE TABLE IF NOT EXISTS smtp_commands (
  connection_id INTEGER NOT NULL,
  time_ns INTEGER NOT NULL,
  client TEXT NOT NULL,
  server TEXT NOT NULL,
  verb TEXT NOT NULL,
  argument TEXT,
  reply_code INTEGER NOT NULL,
  reply_enhanced_status TEXT,
  reply_text TEXT,
  reply_lines INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS smtp_commands_conn ON smtp_commands(connection_id);
CREATE TABLE IF NOT EXISTS smtp_sessions (
  connection_id INTEGER PRIMARY KEY,
  time_ns INTEGER NOT NULL,
  client TEXT NOT NULL,
  server TEXT NOT NULL,
  server_port INTEGER NOT NULL,
  greeting_code INTEGER NOT NULL,
  greeting_text TEXT,
  helo TEXT,
  extensions TEXT,
  client_spoke_first INTEGER NOT NULL,
  pipelined_without_extension INTEGER NOT NULL,
  starttls INTEGER NOT NULL,
  quit_sent INTEGER NOT NULL,
  auth_mechanism TEXT,
  auth_result_code INTEGER NOT NULL,
  gap_bytes_client INTEGER NOT NULL,
  gap_bytes_server INTEGER NOT NULL,
  transactions INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS smtp_sessions_client ON smtp_sessions(client, time_ns);
CREATE INDEX IF NOT EXISTS smtp_sessions_server ON smtp_sessions(server);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY,
  time_ns INTEGER NOT NULL,
  host TEXT NOT NULL,
  peer TEXT NOT NULL,
  peer_port INTEGER NOT NULL,
  rule INTEGER NOT NULL,
  severity TEXT NOT NULL,
  connection_id INTEGER NOT NULL,
  summary TEXT NOT NULL,
  evidence TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_host ON events(host, time_ns);
CREATE INDEX IF NOT EXISTS events_rule ON events(rule, time_ns);
CREATE TABLE IF NOT EXISTS software (
  host TEXT NOT NULL,
  port INTEGER NOT NULL,
  role TEXT NOT NULL,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  first_ns INTEGER NOT NULL,
  last_ns INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (host, port, role, kind, name)
);
CREATE TABLE IF NOT EXISTS asset_members (
  list TEXT NOT NULL,
  host TEXT NOT NULL,
  joined_ns INTEGER NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (list, host)
);
CREATE TABLE IF NOT EXISTS anomalies (
  id INTEGER PRIMARY KEY,
  time_ns INTEGER NOT NULL,
  connection_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  detail TEXT
);
CREATE INDEX IF NOT EXISTS anomalies_name ON anomalies(name);
)sql";

namespace {

void bind_text(sqlite3_stmt* statement, int index, std::string_view text) {
  std::string valid = to_valid_utf8(text);
  sqlite3_bind_text(statement, index, valid.data(), static_cast<int>(valid.size()),
                    SQLITE_TRANSIENT);
}

void bind_int(sqlite3_stmt* statement, int index, int64_t value) {
  sqlite3_bind_int64(statement, index, value);
}

const char* service_name(const Connection& connection) {
  return connection.smtp ? "smtp" : nullptr;
}

}  // namespace

std::unique_ptr<SqliteStore> SqliteStore::open(const std::string& path, std::string* error,
                                               size_t batch_size) {
  std::unique_ptr<SqliteStore> store(new SqliteStore());
  store->batch_size_ = batch_size == 0 ? 1 : batch_size;
  if (sqlite3_open_v2(path.c_str(), &store->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      nullptr) != SQLITE_OK) {
    *error = path + ": cannot open the store: " +
             (store->db_ ? sqlite3_errmsg(store->db_) : "out of memory");
    return nullptr;
  }
  sqlite3_busy_timeout(store->db_, 5000);
  char* message = nullptr;
  std::string setup = std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;") +
                      kSqliteSchema;
  if (sqlite3_exec(store->db_, setup.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    *error = path + ": not a usable spamtap store: " + (message ? message : "unknown error");
    sqlite3_free(message);
    return nullptr;
  }
  if (!create_aggregate_tables(store->db_, error)) return nullptr;
  sqlite3_stmt* max_id = nullptr;
  sqlite3_prepare_v2(store->db_, "SELECT COALESCE(MAX(id), 0) FROM connections", -1, &max_id,
                     nullptr);
  if (max_id && sqlite3_step(max_id) == SQLITE_ROW) {
    store->id_base_ = static_cast<uint64_t>(sqlite3_column_int64(max_id, 0));
  }
  sqlite3_finalize(max_id);
  if (!store->prepare_all(error)) {
    *error = path + ": " + *error;
    return nullptr;
  }
  return store;
}

bool SqliteStore::prepare_all(std::string* error) {
  struct Statement {
    sqlite3_stmt** target;
    const char* sql;
  };
  Statement statements[] = {
      {&insert_connection_,
       "INSERT INTO connections (id, start_ns, end_ns, protocol, orig_addr, orig_port, "
       "resp_addr, resp_port, orig_local, resp_local, orig_packets, orig_ip_bytes, "
       "orig_payload_bytes, resp_packets, resp_ip_bytes, resp_payload_bytes, state, "
       "handshake, ended_by, role_rule, service, missed_bytes) "
       "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"},
      {&insert_smtp_,
       "INSERT INTO smtp_transactions (connection_id, time_ns, client, server, server_port, "
       "helo, mail_from, mail_code, recipients_accepted, recipients_refused, data_code, "
       "end_of_data_code, end_of_data_text, message_bytes, x_mailer, user_agent, "
       "message_id, date, subject) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"},
      {&insert_recipient_,
       "INSERT INTO smtp_recipients (transaction_id, address, code, enhanced_status, text) "
       "VALUES (?,?,?,?,?)"},
      {&insert_exchange_,
       "INSERT INTO smtp_commands (connection_id, time_ns, client, server, verb, argument, "
       "reply_code, reply_enhanced_status, reply_text, reply_lines) "
       "VALUES (?,?,?,?,?,?,?,?,?,?)"},
      {&insert_session_,
       "INSERT OR REPLACE INTO smtp_sessions (connection_id, time_ns, client, server, "
       "server_port, greeting_code, greeting_text, helo, extensions, client_spoke_first, "
       "pipelined_without_extension, starttls, quit_sent, auth_mechanism, auth_result_code, "
       "gap_bytes_client, gap_bytes_server, transactions) "
       "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"},
      {&insert_event_,
       "INSERT INTO events (time_ns, host, peer, peer_port, rule, severity, connection_id, "
       "summary, evidence) VALUES (?,?,?,?,?,?,?,?,?)"},
      {&upsert_software_,
       "INSERT INTO software (host, port, role, kind, name, first_ns, last_ns, count) "
       "VALUES (?,?,?,?,?,?,?,1) ON CONFLICT (host, port, role, kind, name) DO UPDATE SET "
       "first_ns = MIN(first_ns, excluded.first_ns), last_ns = MAX(last_ns, excluded.last_ns), "
       "count = count + 1"},
      {&insert_asset_member_,
       "INSERT OR IGNORE INTO asset_members (list, host, joined_ns, reason) VALUES (?,?,?,?)"},
      {&insert_anomaly_,
       "INSERT INTO anomalies (time_ns, connection_id, name, detail) VALUES (?,?,?,?)"},
      {&insert_run_,
       "INSERT INTO runs (started_ns, first_packet_ns, last_packet_ns, inputs, counters) "
       "VALUES (?,?,?,?,?)"},
  };
  for (auto& statement : statements) {
    if (sqlite3_prepare_v2(db_, statement.sql, -1, statement.target, nullptr) != SQLITE_OK) {
      *error = std::string("cannot prepare a statement: ") + sqlite3_errmsg(db_);
      return false;
    }
  }
  return true;
}

SqliteStore::~SqliteStore() {
  flush();
  for (sqlite3_stmt* statement :
       {insert_connection_, insert_smtp_, insert_recipient_, insert_exchange_, insert_session_,
        insert_event_, insert_anomaly_, upsert_software_, insert_asset_member_,
        insert_run_}) {
    sqlite3_finalize(statement);
  }
  if (db_) sqlite3_close(db_);
}

void SqliteStore::begin_if_needed() {
  if (in_transaction_) return;
  sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr);
  in_transaction_ = true;
}

void SqliteStore::step(sqlite3_stmt* statement) {
  if (sqlite3_step(statement) != SQLITE_DONE) {
    write_errors_++;
    last_error_ = sqlite3_errmsg(db_);
  } else {
    records_written_++;
  }
  sqlite3_reset(statement);
  sqlite3_clear_bindings(statement);
  if (++in_batch_ >= batch_size_) flush();
}

void SqliteStore::write_connection(const Connection& c) {
  begin_if_needed();
  sqlite3_stmt* s = insert_connection_;
  bind_int(s, 1, static_cast<int64_t>(id_base_ + c.id));
  bind_int(s, 2, c.first_time);
  bind_int(s, 3, c.last_time);
  bind_int(s, 4, c.key.protocol);
  bind_text(s, 5, c.key.originator.to_string());
  bind_int(s, 6, c.key.originator_port);
  bind_text(s, 7, c.key.responder.to_string());
  bind_int(s, 8, c.key.responder_port);
  bind_int(s, 9, c.originator_local);
  bind_int(s, 10, c.responder_local);
  bind_int(s, 11, static_cast<int64_t>(c.originator.packets));
  bind_int(s, 12, static_cast<int64_t>(c.originator.ip_bytes));
  bind_int(s, 13, static_cast<int64_t>(c.originator.payload_bytes));
  bind_int(s, 14, static_cast<int64_t>(c.responder.packets));
  bind_int(s, 15, static_cast<int64_t>(c.responder.ip_bytes));
  bind_int(s, 16, static_cast<int64_t>(c.responder.payload_bytes));
  bind_text(s, 17, connection_state(c));
  bind_int(s, 18, c.handshake_completed());
  bind_text(s, 19, to_string(c.end));
  bind_text(s, 20, to_string(c.role_rule));
  if (const char* service = service_name(c)) {
    bind_text(s, 21, service);
  } else {
    sqlite3_bind_null(s, 21);
  }
  bind_int(s, 22, static_cast<int64_t>(c.missed_bytes));
  step(s);
}

void SqliteStore::write_smtp(const SmtpRecord& r) {
  begin_if_needed();
  const smtp::Transaction& t = r.transaction;
  sqlite3_stmt* s = insert_smtp_;
  bind_int(s, 1, static_cast<int64_t>(id_base_ + r.connection_id));
  bind_int(s, 2, t.time);
  bind_text(s, 3, r.client.to_string());
  bind_text(s, 4, r.server.to_string());
  bind_int(s, 5, r.server_port);
  bind_text(s, 6, t.helo);
  bind_text(s, 7, t.mail_from);
  bind_int(s, 8, t.mail_reply.code);
  bind_int(s, 9, t.accepted_recipients());
  bind_int(s, 10, t.refused_recipients());
  bind_int(s, 11, t.data_reply.code);
  bind_int(s, 12, t.end_of_data_reply.code);
  bind_text(s, 13, t.end_of_data_reply.text);
  bind_int(s, 14, static_cast<int64_t>(t.message_bytes));
  bind_text(s, 15, t.x_mailer);
  bind_text(s, 16, t.user_agent);
  bind_text(s, 17, t.message_id);
  bind_text(s, 18, t.date);
  bind_text(s, 19, t.subject);
  // The recipients need the transaction's row id, so this one is stepped by hand.
  if (sqlite3_step(s) != SQLITE_DONE) {
    write_errors_++;
    last_error_ = sqlite3_errmsg(db_);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return;
  }
  records_written_++;
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  int64_t transaction_id = sqlite3_last_insert_rowid(db_);
  for (const auto& recipient : t.recipients) {
    sqlite3_stmt* rs = insert_recipient_;
    bind_int(rs, 1, transaction_id);
    bind_text(rs, 2, recipient.address);
    bind_int(rs, 3, recipient.reply.code);
    bind_text(rs, 4, recipient.reply.enhanced_status);
    bind_text(rs, 5, recipient.reply.text);
    step(rs);
  }
  if (++in_batch_ >= batch_size_) flush();
}

void SqliteStore::write_exchange(const SmtpExchangeRecord& r) {
  begin_if_needed();
  const smtp::Exchange& e = r.exchange;
  sqlite3_stmt* s = insert_exchange_;
  bind_int(s, 1, static_cast<int64_t>(id_base_ + r.connection_id));
  bind_int(s, 2, e.time);
  bind_text(s, 3, r.client.to_string());
  bind_text(s, 4, r.server.to_string());
  bind_text(s, 5, e.verb);
  bind_text(s, 6, e.argument);
  bind_int(s, 7, e.reply.code);
  bind_text(s, 8, e.reply.enhanced_status);
  bind_text(s, 9, e.reply.text);
  bind_int(s, 10, e.reply.line_count);
  step(s);
}

void SqliteStore::write_session(const SmtpSessionRecord& r) {
  begin_if_needed();
  const smtp::SessionSummary& summary = r.summary;
  std::string extensions;
  for (const auto& extension : summary.extensions) {
    extensions += (extensions.empty() ? "" : " ") + extension;
  }
  sqlite3_stmt* s = insert_session_;
  bind_int(s, 1, static_cast<int64_t>(id_base_ + r.connection_id));
  bind_int(s, 2, r.time);
  bind_text(s, 3, r.client.to_string());
  bind_text(s, 4, r.server.to_string());
  bind_int(s, 5, r.server_port);
  bind_int(s, 6, summary.greeting.code);
  bind_text(s, 7, summary.greeting.text);
  bind_text(s, 8, summary.helo);
  bind_text(s, 9, extensions);
  bind_int(s, 10, summary.client_spoke_first);
  bind_int(s, 11, summary.pipelined_without_extension);
  bind_int(s, 12, summary.starttls);
  bind_int(s, 13, summary.quit_sent);
  bind_text(s, 14, summary.auth_mechanism);
  bind_int(s, 15, summary.auth_result_code);
  bind_int(s, 16, static_cast<int64_t>(summary.gap_bytes_client));
  bind_int(s, 17, static_cast<int64_t>(summary.gap_bytes_server));
  bind_int(s, 18, static_cast<int64_t>(r.transactions));
  step(s);
}

void SqliteStore::write_event(const Event& e) {
  begin_if_needed();
  sqlite3_stmt* s = insert_event_;
  bind_int(s, 1, e.time);
  bind_text(s, 2, e.host.to_string());
  bind_text(s, 3, e.peer.to_string());
  bind_int(s, 4, e.peer_port);
  bind_int(s, 5, e.rule);
  bind_text(s, 6, to_string(e.severity));
  bind_int(s, 7, static_cast<int64_t>(e.connection_id ? id_base_ + e.connection_id : 0));
  bind_text(s, 8, e.summary);
  bind_text(s, 9, e.evidence);
  step(s);
}

void SqliteStore::write_anomaly(const AnomalyRecord& a) {
  begin_if_needed();
  sqlite3_stmt* s = insert_anomaly_;
  bind_int(s, 1, a.time);
  bind_int(s, 2, static_cast<int64_t>(a.connection_id ? id_base_ + a.connection_id : 0));
  bind_text(s, 3, a.name);
  bind_text(s, 4, a.detail);
  step(s);
}

void SqliteStore::write_software(const SoftwareRecord& r) {
  begin_if_needed();
  sqlite3_stmt* s = upsert_software_;
  bind_text(s, 1, r.host.to_string());
  bind_int(s, 2, r.port);
  bind_text(s, 3, r.role);
  bind_text(s, 4, r.kind);
  bind_text(s, 5, r.name);
  bind_int(s, 6, r.time);
  bind_int(s, 7, r.time);
  step(s);
}

void SqliteStore::write_asset_member(const AssetMemberRecord& m) {
  begin_if_needed();
  sqlite3_stmt* s = insert_asset_member_;
  bind_text(s, 1, m.list);
  bind_text(s, 2, m.host.to_string());
  bind_int(s, 3, m.joined);
  bind_text(s, 4, m.reason);
  step(s);
}

void SqliteStore::write_run(const RunRecord& run) {
  begin_if_needed();
  sqlite3_stmt* s = insert_run_;
  bind_int(s, 1, run.started);
  bind_int(s, 2, run.first_packet);
  bind_int(s, 3, run.last_packet);
  nlohmann::json inputs = nlohmann::json::array();
  for (const auto& input : run.inputs) inputs.push_back(to_valid_utf8(input));
  bind_text(s, 4, inputs.dump());
  bind_text(s, 5, nlohmann::json(run.counters).dump());
  step(s);
  begin_if_needed();
  if (!update_aggregates(db_)) write_errors_++;
}

void SqliteStore::flush() {
  if (!in_transaction_) return;
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    write_errors_++;
    last_error_ = sqlite3_errmsg(db_);
  }
  in_transaction_ = false;
  in_batch_ = 0;
}

}  // namespace spamtap
