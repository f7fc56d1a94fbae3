// FlowTable: the bidirectional connection table. Every decoded packet is matched to
// its Connection (created on first sight), the connection's counters and TCP state
// are updated, and the observer hears about the packet. Connections leave the table
// when they go idle, when a new SYN reuses a closed connection's ports, when the
// table is full (the least recently active is evicted and counted), or at the end of
// input; each leaves through `on_connection_end` exactly once.
//
// Storage is a pool of Connection slots indexed by an open-addressing hash table with
// linear probing; the hash is symmetric in the two endpoints, so both directions of a
// conversation land on the same entry without building a canonical key.
#pragma once

#include <cstdint>
#include <vector>

#include "core/address.hpp"
#include "decode/packet.hpp"
#include "flow/connection.hpp"

namespace spamtap {

struct FlowLimits {
  size_t max_connections = 1 << 20;
  Timestamp tcp_idle_timeout = seconds(300);
  Timestamp udp_idle_timeout = seconds(60);
  Timestamp icmp_idle_timeout = seconds(60);
  Timestamp closed_linger = seconds(30);  // keep closed TCP to collect final ACKs
};

class ConnectionObserver {
 public:
  virtual ~ConnectionObserver() = default;
  // Called after the counters were updated. `from_originator` tells the direction.
  virtual void on_packet(Connection& connection, const Packet& packet, bool from_originator) = 0;
  // A new connection got its id and roles; its first packet follows.
  virtual void on_connection_start(Connection&) {}
  virtual void on_connection_end(Connection& connection) = 0;
};

struct FlowCounters {
  uint64_t packets = 0;
  uint64_t connections_created = 0;
  uint64_t connections_ended = 0;
  uint64_t timed_out = 0;
  uint64_t evicted = 0;     // pushed out by the size cap
  uint64_t port_reuse = 0;  // a new SYN on a closed connection's tuple
  uint64_t roles_swapped = 0;
};

class FlowTable {
 public:
  FlowTable(FlowLimits limits, HomeNetworks home, ConnectionObserver* observer);
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  void process(const Packet& packet);
  // `sequence` is the packet's position in the whole input (increasing); a table fed a
  // share of the input uses it so that its expiries keep the input's order.
  void process(const Packet& packet, uint64_t sequence);
  // Moves the clock to `now` and ends every connection idle for longer than its
  // timeout, the least recently touched first.
  void advance(Timestamp now);
  // Ends every connection still open (reason: end of input).
  void finish();
  // Swaps originator and responder of a connection picked up midstream, when a later
  // stage learns which side is the server (e.g. the side sending SMTP replies).
  void swap_roles(Connection& connection);

  size_t active() const { return active_; }
  // The same for both directions of a conversation. Slots come from its low bits.
  static uint64_t hash_of(const IpAddress& a, uint16_t port_a, const IpAddress& b, uint16_t port_b,
                          uint8_t protocol);
  const FlowCounters& counters() const { return counters_; }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;

  uint32_t find(const Packet& packet, uint64_t hash, size_t* slot_out) const;
  uint32_t create(const Packet& packet, uint64_t hash);
  void end_connection(uint32_t index, ConnectionEnd reason);
  void erase_slot(size_t slot);
  void grow_index();
  void touch(uint32_t index);
  void unlink(uint32_t index);
  void expire(Timestamp now);
  // The least recently touched connection of all lists (kEmpty when there is none);
  // with `expired_only`, of those idle past their timeout at `now_`.
  uint32_t least_recent(bool expired_only) const;
  uint8_t idle_class_of(const Connection& connection) const;
  Timestamp idle_timeout(uint8_t idle_class) const;
  void update_tcp_state(Connection& connection, const Packet& packet, bool from_originator);

  FlowLimits limits_;
  HomeNetworks home_;
  ConnectionObserver* observer_;

  std::vector<Connection> pool_;
  std::vector<uint32_t> free_;
  std::vector<uint32_t> index_;  // open addressing: pool index or kEmpty
  size_t active_ = 0;
  // Idle classes: open TCP, closed TCP (lingering), UDP, everything else.
  static constexpr int kIdleClasses = 4;
  struct Lru {
    uint32_t oldest = kEmpty;
    uint32_t newest = kEmpty;
  };
  Lru lru_[kIdleClasses];
  uint64_t next_id_ = 1;
  Timestamp now_ = 0;
  FlowCounters counters_;
};

}  // namespace spamtap
