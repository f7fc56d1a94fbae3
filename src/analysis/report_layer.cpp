#include "analysis/report_layer.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include "analysis/report_query.hpp"
#include "store/aggregates.hpp"
#include "store/peer_sketch.hpp"

namespace spamtap {

// --- parsing -------------------------------------------------------------------------

bool parse_bucket(std::string_view text, Bucket* bucket) {
  if (text == "hour") {
    *bucket = Bucket::kHour;
  } else if (text == "day") {
    *bucket = Bucket::kDay;
  } else {
    return false;
  }
  return true;
}

bool parse_host_role(std::string_view text, HostRole* role) {
  if (text == "any" || text.empty()) {
    *role = HostRole::kAny;
  } else if (text == "client") {
    *role = HostRole::kClient;
  } else if (text == "server") {
    *role = HostRole::kServer;
  } else {
    return false;
  }
  return true;
}

bool parse_talker_order(std::string_view text, TalkerOrder* order) {
  if (text == "bytes") {
    *order = TalkerOrder::kBytes;
  } else if (text == "connections") {
    *order = TalkerOrder::kConnections;
  } else if (text == "peers") {
    *order = TalkerOrder::kPeers;
  } else {
    return false;
  }
  return true;
}

// --- dialects ------------------------------------------------------------------------

std::string SqlDialect::bucket_hour(std::string_view hour_column, Bucket bucket) const {
  if (bucket == Bucket::kHour) return std::string(hour_column);
  return "(" + integer_divide(hour_column, 24) + " * 24)";
}

std::string SqliteDialect::placeholder(int index, const SqlValue&) const {
  return "?" + std::to_string(index);
}

std::string SqliteDialect::integer_divide(std::string_view dividend, int64_t divisor) const {
  // Both sides are integers in SQLite, so '/' truncates.
  return fmt::format("({} / {})", dividend, divisor);
}

std::string SqliteDialect::distinct_count(std::string_view sketch_column) const {
  return fmt::format("sketch_count({})", sketch_column);
}

SqliteSource::SqliteSource(sqlite3* db) : db_(db) {
  register_sketch_functions(db_);
}

bool SqliteSource::run(const Query& query, std::vector<ResultRow>* rows, std::string* error) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db_, query.sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
    *error = std::string("cannot prepare a report query: ") + sqlite3_errmsg(db_);
    sqlite3_finalize(statement);
    return false;
  }
  for (size_t i = 0; i < query.parameters.size(); ++i) {
    int index = static_cast<int>(i + 1);
    const SqlValue& value = query.parameters[i];
    if (const auto* number = std::get_if<int64_t>(&value)) {
      sqlite3_bind_int64(statement, index, *number);
    } else if (const auto* text = std::get_if<std::string>(&value)) {
      sqlite3_bind_text(statement, index, text->data(), static_cast<int>(text->size()),
                        SQLITE_TRANSIENT);
    } else {
      sqlite3_bind_null(statement, index);
    }
  }

  int code;
  while ((code = sqlite3_step(statement)) == SQLITE_ROW) {
    int columns = sqlite3_column_count(statement);
    ResultRow row;
    row.reserve(static_cast<size_t>(columns));
    for (int c = 0; c < columns; ++c) {
      switch (sqlite3_column_type(statement, c)) {
        case SQLITE_INTEGER: row.emplace_back(sqlite3_column_int64(statement, c)); break;
        case SQLITE_FLOAT: row.emplace_back(sqlite3_column_double(statement, c)); break;
        case SQLITE_NULL: row.emplace_back(nullptr); break;
        default: {
          const unsigned char* text = sqlite3_column_text(statement, c);
          row.emplace_back(std::string(text ? reinterpret_cast<const char*>(text) : ""));
        }
      }
    }
    rows->push_back(std::move(row));
  }
  if (code != SQLITE_DONE) {
    *error = std::string("report query failed: ") + sqlite3_errmsg(db_);
    sqlite3_finalize(statement);
    return false;
  }
  sqlite3_finalize(statement);
  return true;
}

// --- the query builder ---------------------------------------------------------------

std::string QueryBuilder::bind(SqlValue value) {
  query_.parameters.push_back(std::move(value));
  return dialect_.placeholder(static_cast<int>(query_.parameters.size()), query_.parameters.back());
}

std::string QueryBuilder::host_set(std::string_view column, const ReportOptions& options,
                                   std::string_view local_column) {
  std::string clause;
  if (!options.host.empty()) clause += fmt::format(" AND {} = {}", column, bind(options.host));
  if (options.asset) {
    clause += fmt::format(" AND {} IN (SELECT host FROM asset_members WHERE list = {})", column,
                          bind(*options.asset));
  }
  if (options.host.empty() && !options.asset && !options.include_remote && !local_column.empty()) {
    clause += fmt::format(" AND {} = 1", local_column);
  }
  return clause;
}

std::string QueryBuilder::aggregate_hosts(const ReportOptions& options, bool per_host) {
  if (!options.host.empty() || options.asset || per_host) {
    return host_set("host", options, "host_local") + fmt::format(" AND host <> '{}'", kAllHosts);
  }
  std::string clause = fmt::format(" AND host = '{}'", kAllHosts);
  if (!options.include_remote) clause += " AND host_local = 1";
  return clause;
}

std::string QueryBuilder::aggregate_rows(std::string_view level, const ReportOptions& options) {
  if (!options.since && !options.until) return fmt::format("agg_{}_total", level);

  // Hours [first, last]; whole days [first_day, end_day) within them. The unbounded ends
  // stay far from overflow when rounded to days.
  constexpr int64_t kFar = int64_t{1} << 50;
  int64_t first = options.since ? floor_divide(*options.since, kHour) : -kFar;
  int64_t last = options.until ? floor_divide(*options.until - 1, kHour) : kFar;
  int64_t first_day = -floor_divide(-first, 24) * 24;
  int64_t end_day = floor_divide(last + 1, 24) * 24;
  auto hours = [&](int64_t from, int64_t to) {
    return fmt::format("SELECT * FROM agg_{}_hour WHERE hour >= {} AND hour <= {}", level,
                       bind(from), bind(to));
  };
  if (first_day >= end_day) return "(" + hours(first, last) + ")";
  std::string rows = fmt::format("SELECT * FROM agg_{}_day WHERE hour >= {} AND hour < {}", level,
                                 bind(first_day), bind(end_day));
  if (first < first_day) rows += " UNION ALL " + hours(first, first_day - 1);
  if (last >= end_day) rows += " UNION ALL " + hours(end_day, last);
  return "(" + rows + ")";
}

std::string QueryBuilder::hour_range(std::string_view column, const ReportOptions& options,
                                     int64_t extra_hours_before) {
  std::string clause;
  if (options.since) {
    int64_t first = floor_divide(*options.since, kHour) - extra_hours_before;
    clause += fmt::format(" AND {} >= {}", column, bind(first));
  }
  if (options.until) {
    // The hour holding until - 1ns is the last one that overlaps [since, until).
    int64_t last = floor_divide(*options.until - 1, kHour);
    clause += fmt::format(" AND {} <= {}", column, bind(last));
  }
  return clause;
}

std::string QueryBuilder::time_range(std::string_view column, const ReportOptions& options) {
  std::string clause;
  if (options.since) clause += fmt::format(" AND {} >= {}", column, bind(*options.since));
  if (options.until) clause += fmt::format(" AND {} < {}", column, bind(*options.until));
  return clause;
}

std::string QueryBuilder::port(std::string_view column, const ReportOptions& options) {
  if (!options.port) return "";
  return fmt::format(" AND {} = {}", column, bind(int64_t{*options.port}));
}

std::string QueryBuilder::role(std::string_view column, const ReportOptions& options) {
  switch (options.role) {
    case HostRole::kClient: return fmt::format(" AND {} = {}", column, bind(int64_t{0}));
    case HostRole::kServer: return fmt::format(" AND {} = {}", column, bind(int64_t{1}));
    case HostRole::kAny: return "";
  }
  return "";
}

int64_t floor_divide(int64_t value, int64_t divisor) {
  int64_t quotient = value / divisor;
  if ((value % divisor != 0) && ((value < 0) != (divisor < 0))) quotient--;
  return quotient;
}

std::string protocol_name(int64_t protocol) {
  switch (protocol) {
    case 6: return "tcp";
    case 17: return "udp";
    case 1: return "icmp";
    case 58: return "icmp6";
    default: return std::to_string(protocol);
  }
}

std::string role_name(int64_t role) {
  return role == 0 ? "client" : "server";
}

nlohmann::json time_cell(const nlohmann::json& nanoseconds) {
  if (!nanoseconds.is_number_integer()) return nullptr;
  return format_iso8601(nanoseconds.get<int64_t>(), 3);
}

// --- the registry --------------------------------------------------------------------

namespace {

constexpr AnalysisReport kReports[] = {
    {"ports",
     "Port summary of the selected hosts: connections, bytes and distinct peers per "
     "service port and role, most used first",
     ports_report},
    {"client-ports",
     "Remote ports the selected local hosts used as clients (record 2), with first/last "
     "seen and counts",
     client_ports_report},
    {"accepts-external",
     "Local ports that completed handshakes with outside clients (record 14), per host",
     accepts_external_report},
    {"matrix", "Port x host matrix of connection counts (hosts as rows, ports as columns)",
     matrix_report},
    {"activity", "Connections and bytes per hour or day, optionally per port", activity_report},
    {"talkers", "Top talkers by bytes, connections or distinct peers, per direction",
     talkers_report},
    {"novel",
     "Never seen before: hosts, server ports, client ports and asset-list memberships first "
     "seen after the learning period",
     novel_report},
    {"surge",
     "Crowd surge: hosts and ports whose connections or peers in a bucket jump far above "
     "their own recent baseline (median and MAD)",
     surge_report},
    {"sessions",
     "Completed TCP connections of the selected hosts: start, end, duration, bytes per "
     "side, average rate",
     sessions_report},
};

}  // namespace

std::span<const AnalysisReport> analysis_reports() {
  return kReports;
}

const AnalysisReport* find_analysis_report(std::string_view name) {
  for (const auto& report : kReports) {
    if (report.name == name) return &report;
  }
  return nullptr;
}

bool run_report(ReportSource& source, std::string_view name, const ReportOptions& options,
                Table* table, std::string* error) {
  const AnalysisReport* report = find_analysis_report(name);
  if (!report) {
    *error = fmt::format("no report named '{}'", name);
    return false;
  }
  std::vector<ResultRow> probe;
  Query check{"SELECT value FROM agg_state WHERE key = 'schema_version'", {}};
  if (!source.run(check, &probe, error) || probe.empty() ||
      probe[0][0] != kAggregateSchemaVersion) {
    *error =
        "the store has no aggregate tables of this version (it was written by an "
        "older spamtap); open it once for writing, e.g. 'spamtap analyze' of any "
        "capture, to rebuild them, or analyze the capture again into a new store";
    return false;
  }
  return report->build(source, options, table, error);
}

std::string sparkline(const std::vector<double>& values, size_t width) {
  static const char* const kBars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  if (values.empty() || width == 0) return "";
  std::vector<double> points;
  size_t count = std::min(values.size(), width);
  for (size_t i = 0; i < count; ++i) {
    size_t begin = i * values.size() / count;
    size_t end = std::max(begin + 1, (i + 1) * values.size() / count);
    double sum = 0;
    for (size_t j = begin; j < end; ++j) sum += values[j];
    points.push_back(sum / static_cast<double>(end - begin));
  }
  double top = 0;
  for (double point : points) top = std::max(top, point);
  std::string line;
  for (double point : points) {
    size_t level = top > 0 ? static_cast<size_t>(point / top * 7.0 + 0.5) : 0;
    line += kBars[std::min<size_t>(level, 7)];
  }
  return line;
}

}  // namespace spamtap
