// The suspects report: one row per host with spam-source events, most evidence
// first: when it was first and last seen, which rules fired how often, and a sample
// of the evidence. Reads only the store.
#pragma once

#include <optional>
#include <string>

#include "analysis/table.hpp"
#include "core/time.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace spamtap {

struct ReportFilter {
  std::optional<Timestamp> since;
  std::optional<Timestamp> until;
  std::string host;   // empty: all hosts
  std::string asset;  // empty: all hosts; else members of this asset list
};

// The WHERE clause every event report shares, over ?1 since, ?2 until, ?3 host and
// ?4 asset list, and the function that binds those four from a filter.
extern const char* const kEventFilterSql;
void bind_event_filter(sqlite3_stmt* statement, const ReportFilter& filter);

// Opens a store for reading, with the sketch functions the aggregate reports use;
// nullptr with `error` when it cannot be read.
sqlite3* open_store_for_reading(const std::string& path, std::string* error);

Table suspects_report(sqlite3* db, const ReportFilter& filter);
Table anomalies_report(sqlite3* db, const ReportFilter& filter);

}  // namespace spamtap
