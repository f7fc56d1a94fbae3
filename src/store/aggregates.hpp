// Aggregates: pre-aggregated tables the store keeps next to the raw records, so that
// the analysis reports answer from small tables instead of every connection.
//
// At the end of each run the store calls update_aggregates(), which reads only the
// connections written since the last update (ids above the mark kept in agg_state),
// groups them once into a per-run table and folds that into:
//   agg_port_hour   per (host, role, service port, protocol, hour): connections,
//                   handshakes, bytes, first/last, and the distinct peers as a sketch
//                   (store/peer_sketch.hpp); outside_* count only completed handshakes
//                   with clients outside the home networks (record 14).
//   agg_host_hour   per (host, role, hour): connections, bytes, peers sketch.
//   agg_port_day, agg_host_day       the same per day (`hour` holds the day's first
//                   hour), keyed by day first, so that a range of whole days is read in
//                   one sweep;
//   agg_port_total, agg_host_total   the same without the hour, for reports over all
//                   time.
// Every connection counts twice, once from each end: `role` is 0 when the host was the
// client (originator), 1 when it served; `port` is always the responder's port.
// local_peer_connections counts those whose other end was local too, so that a total
// over both roles can count a connection between two local hosts once.
// Besides one row per host, each table keeps rows with host = '*' that sum all local
// hosts (host_local = 1) or all remote ones (host_local = 0), with the hosts as a
// sketch too, so that the unfiltered reports read one row per port or hour. Sketches
// merge, so the rows of several runs fold together without recounting.
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

// Kept in agg_state under "schema_version"; bumped whenever the aggregate tables change
// layout, so that an older store is rebuilt rather than misread.
constexpr int64_t kAggregateSchemaVersion = 2;

// The host of the rows that sum every local (or every remote) host.
constexpr const char* kAllHosts = "*";

// Creates the aggregate tables (and the index on connections(start_ns) that the
// sessions report uses) when missing, and registers the sketch functions on `db`.
// False with `error` on failure.
bool create_aggregate_tables(sqlite3* db, std::string* error);

struct AggregateUpdate {
  int64_t connections = 0;  // connections folded in
  int64_t first_hour = 0;
  int64_t last_hour = -1;  // last_hour < first_hour: nothing new
  int64_t run_id = 0;      // the run the new sightings are attributed to
};

// Folds every connection written since the last update into the aggregates, and
// records first sightings for novelty under the newest run id. Runs inside the
// caller's transaction if there is one. False with `error` when a statement fails.
bool update_aggregates(sqlite3* db, AggregateUpdate* update, std::string* error);

// The same, for callers that only need to know it worked (the store's write_run).
bool update_aggregates(sqlite3* db);

}  // namespace spamtap
