// Internal to the report layer: the query builder that turns ReportOptions into WHERE
// clauses with bound parameters, a few cell helpers, and the report functions the
// registry in report_layer.cpp lists. Callers outside src/analysis use
// report_layer.hpp.
#pragma once

#include <string>
#include <string_view>

#include "analysis/report_layer.hpp"

namespace spamtap {

constexpr int64_t kHour = 3'600'000'000'000;

class QueryBuilder {
 public:
  explicit QueryBuilder(const SqlDialect& dialect) : dialect_(dialect) {}

  // Adds a parameter and returns its placeholder.
  std::string bind(SqlValue value);

  // Each returns " AND ..." (or "") for the filter it names.
  // Host or asset list on `column`; without either, `local_column` = 1 unless
  // include_remote (pass "" to never restrict to local hosts).
  std::string host_set(std::string_view column, const ReportOptions& options,
                       std::string_view local_column);
  // The aggregate rows to read: without --host or --asset, the '*' row of all local
  // hosts (and of all remote ones with include_remote) unless `per_host`; otherwise one
  // row per selected host.
  std::string aggregate_hosts(const ReportOptions& options, bool per_host);
  // The rows of aggregate `level` ("port" or "host") that cover the time range, as a
  // FROM source: agg_<level>_total without a range; with one, the day rows of the whole
  // days in it and the hour rows of the partial days at its ends.
  std::string aggregate_rows(std::string_view level, const ReportOptions& options);
  // An hour-number column against since/until, widened by `extra_hours_before`.
  std::string hour_range(std::string_view column, const ReportOptions& options,
                         int64_t extra_hours_before = 0);
  // A nanosecond column against [since, until).
  std::string time_range(std::string_view column, const ReportOptions& options);
  std::string port(std::string_view column, const ReportOptions& options);
  std::string role(std::string_view column, const ReportOptions& options);

  Query finish(std::string sql) {
    query_.sql = std::move(sql);
    return std::move(query_);
  }
  const SqlDialect& dialect() const { return dialect_; }

 private:
  const SqlDialect& dialect_;
  Query query_;
};

int64_t floor_divide(int64_t value, int64_t divisor);
std::string protocol_name(int64_t protocol);
std::string role_name(int64_t role);
nlohmann::json time_cell(const nlohmann::json& nanoseconds);

using ReportBuilder = bool(ReportSource&, const ReportOptions&, Table*, std::string*);
ReportBuilder ports_report;
ReportBuilder client_ports_report;
ReportBuilder accepts_external_report;
ReportBuilder matrix_report;
ReportBuilder activity_report;
ReportBuilder talkers_report;
ReportBuilder sessions_report;
ReportBuilder novel_report;
ReportBuilder surge_report;

}  // namespace spamtap
