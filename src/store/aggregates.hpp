// Aggregates: pre-aggregated tables the store keeps next to the raw records, so that
// the analysis reports answer from a few thousand rows instead of every connection.
//
// At the end of each run the store calls update_aggregates(), which reads only the
// connections written since the last update (ids above the mark kept in agg_state)
// and folds them in:
//   agg_flow_hour   one row per (host, role, service port, protocol, peer, hour); every
//                   connection counts twice, once from each end. `role` is 0 when the
//                   host was the client (originator), 1 when it served; `port` is always
//                   the responder's port. Distinct peers over any range come from here.
//   agg_port_hour   per (host, role, port, protocol, hour): connections, bytes, peers.
//   agg_host_hour   per (host, role, hour): connections, bytes, distinct peers.
//                   The two rollups are recomputed from agg_flow_hour for the hours the
//                   run touched, because distinct peers do not add up across runs.
//   novelty_seen    the first sighting of each local host, server port on a host,
//                   client port of a host and (asset list, host) pair, with the run
//                   that saw it; the first run is the learning period.
// A connection belongs to the hour its first packet fell in.
#pragma once

#include <cstdint>
#include <string>

struct sqlite3;

namespace spamtap {

constexpr int64_t kNanosPerHour = 3'600'000'000'000;

// Creates the aggregate tables (and the index on connections(start_ns) that the
// sessions report uses) when missing. False with `error` on failure.
bool create_aggregate_tables(sqlite3* db, std::string* error);

struct AggregateUpdate {
  int64_t connections = 0;  // connections folded in
  int64_t first_hour = 0;
  int64_t last_hour = -1;   // last_hour < first_hour: nothing new
  int64_t run_id = 0;       // the run the new sightings are attributed to
};

// Folds every connection written since the last update into the aggregates, and
// records first sightings for novelty under the newest run id. Runs inside the
// caller's transaction if there is one. False with `error` when a statement fails.
bool update_aggregates(sqlite3* db, AggregateUpdate* update, std::string* error);

// The same, for callers that only need to know it worked (the store's write_run).
bool update_aggregates(sqlite3* db);

}  // namespace spamtap
