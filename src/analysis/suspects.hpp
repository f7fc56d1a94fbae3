// The suspects report: one row per host with spam-source events, most evidence
// first: when it was first and last seen, which rules fired how often, and a sample
// of the evidence. Reads only the store.
#pragma once

#include <optional>
#include <string>

#include "analysis/table.hpp"
#include "core/time.hpp"

struct sqlite3;

namespace spamtap {

struct ReportFilter {
  std::optional<Timestamp> since;
  std::optional<Timestamp> until;
  std::string host;   // empty: all hosts
  std::string asset;  // empty: all hosts; else members of this asset list
};

// Opens a store for reading; nullptr with `error` when it cannot be read.
sqlite3* open_store_for_reading(const std::string& path, std::string* error);

Table suspects_report(sqlite3* db, const ReportFilter& filter);
Table anomalies_report(sqlite3* db, const ReportFilter& filter);

}  // namespace spamtap
