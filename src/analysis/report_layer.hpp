// The report layer: the traffic reports an analyst runs once the suspects are known
// (ports, client ports, accepted external connections, the port x host matrix,
// activity over time, top talkers, never-seen-before, crowd surge, sessions). The CLI
// and the dashboard both call run_report(); neither builds SQL.
//
// A report is written once, against two small interfaces:
//   SqlDialect    how the store's SQL spells placeholders, integer division and the
//                 merge of distinct-count sketches;
//   ReportSource  runs a Query (SQL plus bound parameters) and returns rows.
// SqliteSource implements both for the embedded store. A second store (ClickHouse)
// adds its own dialect and source; no report changes. Values from the command line
// are always bound as parameters, never formatted into the SQL.
//
// Reports read the pre-aggregated tables of store/aggregates.hpp and, for sessions, the
// connections table through its indexes. Without a time range they read the all-time
// tables, with one the day and hour tables; without --host or --asset they read the
// rows that sum all local hosts ('*') where the report does not list hosts. Distinct
// peers and hosts come from merged sketches: exact up to 64 values, within a few per
// cent beyond (store/peer_sketch.hpp).
// LIMITATION: above 64 distinct peers (or hosts) a count is a HyperLogLog estimate with
// a standard error of about 2.3 %, so it can differ from an exact count by a few per cent.
// Filters:
//   --asset LIST   hosts in asset_members under LIST (a list without rows: no hosts);
//   --host ADDR    one host;
//   --port N       one service port (the responder's port);
//   --role         client (the host opened the connection) or server;
//   --since/--until  a connection counts in the hour its first packet fell in; the
//                  aggregate reports take every hour that overlaps [since, until).
// Without --host or --asset the aggregate reports cover the local hosts only.
//
// Surge method (report surge, rule 4302): for each host (and each port) and bucket,
// take the K buckets before it (K = 24 for hours, 14 for days; buckets without
// traffic count as 0). baseline = their median, MAD = median of |value - baseline|.
// The bucket surges when value > baseline + max(min_jump, 5 * MAD) and value > 2 * the
// window's largest value. The second test keeps daily rhythms (every morning after a
// quiet night) from firing; at least K/2 buckets of history must precede the bucket.
// The peers metric is the distinct peers in the bucket: of the host, or of the
// selected hosts on the port.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "analysis/table.hpp"
#include "core/time.hpp"
#include "detect/catalog.hpp"
#include "detect/event.hpp"

struct sqlite3;

namespace spamtap {

enum class Bucket { kHour, kDay };
enum class HostRole { kAny, kClient, kServer };
enum class TalkerOrder { kBytes, kConnections, kPeers };

bool parse_bucket(std::string_view text, Bucket* bucket);
bool parse_host_role(std::string_view text, HostRole* role);
bool parse_talker_order(std::string_view text, TalkerOrder* order);

struct SurgeSettings {
  int history = 0;        // K; 0: 24 for hours, 14 for days
  int64_t min_jump = 10;  // the smallest rise over the baseline that counts
};

struct ReportOptions {
  std::optional<Timestamp> since;
  std::optional<Timestamp> until;
  std::string host;                  // empty: no host filter
  std::optional<std::string> asset;  // asset list name
  std::optional<int> port;
  HostRole role = HostRole::kAny;
  bool include_remote = false;              // aggregate reports: also hosts outside home networks
  size_t limit = 0;                         // 0: the report's default
  Bucket bucket = Bucket::kHour;            // activity, surge
  bool per_port = false;                    // activity
  TalkerOrder order = TalkerOrder::kBytes;  // talkers
  std::optional<Timestamp> learn_until;     // novel: overrides "the first run"
  SurgeSettings surge;
};

// A bound query parameter: null, an integer or a text.
using SqlValue = std::variant<std::monostate, int64_t, std::string>;

struct Query {
  std::string sql;
  std::vector<SqlValue> parameters;  // parameter i is placeholder(i + 1)
};

class SqlDialect {
 public:
  virtual ~SqlDialect() = default;
  // The text of the `index`-th (1-based) parameter, e.g. "?3" or "{p3:Int64}".
  virtual std::string placeholder(int index, const SqlValue& value) const = 0;
  virtual std::string integer_divide(std::string_view dividend, int64_t divisor) const = 0;
  // An aggregate over a column of distinct-value sketches: the distinct count of their
  // union. SQLite: sketch_count() of store/peer_sketch.hpp; ClickHouse would keep
  // uniqCombined states in the column and read them with uniqCombinedMerge().
  virtual std::string distinct_count(std::string_view sketch_column) const = 0;

  // Hours since the epoch -> the first hour of its bucket.
  std::string bucket_hour(std::string_view hour_column, Bucket bucket) const;
};

class SqliteDialect : public SqlDialect {
 public:
  std::string placeholder(int index, const SqlValue& value) const override;
  std::string integer_divide(std::string_view dividend, int64_t divisor) const override;
  std::string distinct_count(std::string_view sketch_column) const override;
};

using ResultRow = std::vector<nlohmann::json>;

class ReportSource {
 public:
  virtual ~ReportSource() = default;
  virtual const SqlDialect& dialect() const = 0;
  // Integers come back as JSON integers, text as strings, NULL as null.
  virtual bool run(const Query& query, std::vector<ResultRow>* rows, std::string* error) = 0;
};

class SqliteSource : public ReportSource {
 public:
  // Registers the sketch functions on `db`, which the aggregate reports need.
  explicit SqliteSource(sqlite3* db);
  const SqlDialect& dialect() const override { return dialect_; }
  bool run(const Query& query, std::vector<ResultRow>* rows, std::string* error) override;

 private:
  sqlite3* db_;
  SqliteDialect dialect_;
};

struct AnalysisReport {
  std::string_view name;  // "ports", "client-ports", ...
  std::string_view description;
  bool (*build)(ReportSource& source, const ReportOptions& options, Table* table,
                std::string* error);
};

// Every report of this layer, in the order `spamtap report --help` lists them.
std::span<const AnalysisReport> analysis_reports();
const AnalysisReport* find_analysis_report(std::string_view name);

// Runs one report by name. False with `error` when the name is unknown, the store has
// no aggregate tables, or a query fails.
bool run_report(ReportSource& source, std::string_view name, const ReportOptions& options,
                Table* table, std::string* error);

// A small text sparkline of `values` (one character per value, at most `width`,
// averaging neighbours when there are more values than characters).
std::string sparkline(const std::vector<double>& values, size_t width = 60);

// Novelty and surge as events (rules 4301 and 4302), for the sinks and the asset lists:
// every item first seen at or after `since` outside the learning period, and every
// host whose hourly connection or peer count surged in a bucket starting at or after
// `since`. Call after the run's write_run (the aggregates are then up to date), with
// `since` = the run's first packet time.
std::vector<Event> novelty_and_surge_events(sqlite3* db, Timestamp since,
                                            const SurgeSettings& surge = {});

}  // namespace spamtap
