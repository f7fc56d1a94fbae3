// The blocklist report: who talked to listed addresses, from the "peer on blocklist"
// events in the store (rule 4300). Each event names the list, the matching entry, the
// direction and the connection; this report groups them
//   - by pair (the default): one row per (list, local host, remote address);
//   - by list: one row per list, with how many hosts and remote addresses it touched;
//   - by host: one row per local host, with every list it touched, most lists first,
//     the view that shows a host talking both to a botnet list and to a spam list;
//   - by remote: one row per listed address, with its lists, entries and hosts.
// Every row has connection counts and first/last seen (the first connection's start,
// the last connection's end). Reads only the store.
//
// LIMITATION: the hits in the filter are grouped in memory, so a store with millions of
// blocklist events needs a time range to stay quick.
#pragma once

#include <string>
#include <string_view>

#include "analysis/suspects.hpp"
#include "analysis/table.hpp"

struct sqlite3;

namespace spamtap {

enum class BlocklistGrouping { kPair, kList, kHost, kRemote };

// "pair", "list", "host", "remote".
bool parse_blocklist_grouping(std::string_view text, BlocklistGrouping* grouping);

struct BlocklistReportOptions {
  ReportFilter filter;  // time range on the connection start; `host` is the local host
  BlocklistGrouping by = BlocklistGrouping::kPair;
  std::string list;  // empty: all lists
};

Table blocklist_report(sqlite3* db, const BlocklistReportOptions& options);

}  // namespace spamtap
