// SqliteStore: the embedded default store. One file in WAL mode; records are
// inserted through prepared statements with bound parameters, in transactions of
// `batch_size` records. Connection ids of a run are shifted past those already in the
// file, so several runs can share one store.
#pragma once

#include <memory>
#include <string>

#include "store/records.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace spamtap {

class SqliteStore : public RecordSink {
 public:
  // Opens or creates `path` and its schema. On failure returns nullptr with `error`
  // saying what and where.
  static std::unique_ptr<SqliteStore> open(const std::string& path, std::string* error,
                                           size_t batch_size = 5000);
  ~SqliteStore() override;

  void write_connection(const Connection& connection) override;
  void write_smtp(const SmtpRecord& record) override;
  void write_exchange(const SmtpExchangeRecord& record) override;
  void write_session(const SmtpSessionRecord& record) override;
  void write_event(const Event& event) override;
  void write_anomaly(const AnomalyRecord& anomaly) override;
  void write_software(const SoftwareRecord& software) override;
  void write_asset_member(const AssetMemberRecord& member) override;
  void write_run(const RunRecord& run) override;
  void flush() override;

  uint64_t records_written() const { return records_written_; }
  uint64_t write_errors() const { return write_errors_; }
  const std::string& last_error() const { return last_error_; }

 private:
  SqliteStore() = default;
  bool prepare_all(std::string* error);
  void begin_if_needed();
  void step(sqlite3_stmt* statement);

  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_connection_ = nullptr;
  sqlite3_stmt* insert_smtp_ = nullptr;
  sqlite3_stmt* insert_recipient_ = nullptr;
  sqlite3_stmt* insert_exchange_ = nullptr;
  sqlite3_stmt* insert_session_ = nullptr;
  sqlite3_stmt* insert_event_ = nullptr;
  sqlite3_stmt* insert_anomaly_ = nullptr;
  sqlite3_stmt* upsert_software_ = nullptr;
  sqlite3_stmt* insert_asset_member_ = nullptr;
  sqlite3_stmt* insert_run_ = nullptr;
  size_t batch_size_ = 5000;
  size_t in_batch_ = 0;
  bool in_transaction_ = false;
  uint64_t id_base_ = 0;
  uint64_t records_written_ = 0;
  uint64_t write_errors_ = 0;
  std::string last_error_;
};

// The schema, shared with the reports that read it.
extern const char* const kSqliteSchema;

}  // namespace spamtap
