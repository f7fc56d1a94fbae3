// BlocklistDetector: checks both ends of every finished connection against the loaded
// blocklists and turns each hit into an event (rule 4300, "peer on blocklist").
//
// Data in: a `Connection` as the flow table hands it over when it ends, plus the current
// `intel::BlocklistSet`. Data out: events appended to a caller's vector. The set is only
// read, never locked; a reload hands the detector a new set between connections.
//
// Who is who in an event. For each listed end of a connection (the *listed* address):
//   - `peer` is always the listed address, so the event's entry always covers its peer;
//   - `host` is the other end when that end is local, or when neither end is local (the
//     host that talked to a listed address); it is the listed address itself only when
//     that address is local and the other end is not (one of our own hosts is listed);
//   - `direction` is "outbound" when `host` opened the connection, "inbound" otherwise.
// One event per listed end and per list that holds it: an address on two lists gives two
// events, and a connection whose two ends are both listed gives events for each end.
//
// The evidence is one JSON object with stable keys, so reports can group by them:
//   {"list","category","weight","entry","label","direction","listed","protocol"}
// where "listed" says which end matched ("remote", or "host" for a listed own host).
// "weight" is the list's operator-given weight, kept for host scoring.
//
// LIMITATION: a connection is checked when it ends, so in live capture the event for a
// long-lived connection to a listed address leaves only when that connection closes or
// times out.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "detect/catalog.hpp"
#include "detect/event.hpp"
#include "flow/connection.hpp"
#include "intel/blocklist_set.hpp"

namespace spamtap {

struct BlocklistDetectorCounters {
  uint64_t connections_checked = 0;
  uint64_t connections_listed = 0;  // at least one end on at least one list
  uint64_t events = 0;
};

class BlocklistDetector {
 public:
  explicit BlocklistDetector(std::shared_ptr<const intel::BlocklistSet> set = nullptr)
      : set_(std::move(set)) {}

  // Takes effect for the next connection checked; nullptr turns matching off.
  void set_blocklists(std::shared_ptr<const intel::BlocklistSet> set) { set_ = std::move(set); }
  const std::shared_ptr<const intel::BlocklistSet>& blocklists() const { return set_; }

  // Appends the events for `connection` to `events`; returns how many were appended.
  size_t check(const Connection& connection, std::vector<Event>* events);

  const BlocklistDetectorCounters& counters() const { return counters_; }

 private:
  void report_end(const Connection& connection, bool listed_is_originator,
                  std::vector<Event>* events);

  std::shared_ptr<const intel::BlocklistSet> set_;
  BlocklistDetectorCounters counters_;
};

}  // namespace spamtap
