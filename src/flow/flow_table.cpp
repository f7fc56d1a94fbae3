#include "flow/flow_table.hpp"

#include <algorithm>

namespace spamtap {

namespace {

uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDULL;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ULL;
  h ^= h >> 33;
  return h;
}

bool is_service_port(uint16_t port) {
  if (port != 0 && port < 1024) return true;
  switch (port) {
    case 1433:
    case 1521:
    case 2525:
    case 3306:
    case 3389:
    case 5060:
    case 5432:
    case 5900:
    case 6379:
    case 8000:
    case 8008:
    case 8080:
    case 8443:
    case 8888:
    case 9000:
    case 9200:
    case 27017: return true;
    default: return false;
  }
}

bool matches_forward(const ConnectionKey& key, const Packet& packet) {
  return key.originator_port == packet.source_port &&
         key.responder_port == packet.destination_port && key.originator == packet.source &&
         key.responder == packet.destination;
}

bool matches_reverse(const ConnectionKey& key, const Packet& packet) {
  return key.originator_port == packet.destination_port &&
         key.responder_port == packet.source_port && key.originator == packet.destination &&
         key.responder == packet.source;
}

}  // namespace

bool Connection::closed() const {
  if (tcp_flags_seen & (tcp_seen::kOrigRst | tcp_seen::kRespRst)) return true;
  return (tcp_flags_seen & tcp_seen::kOrigFin) && (tcp_flags_seen & tcp_seen::kRespFin);
}

FlowTable::FlowTable(FlowLimits limits, HomeNetworks home, ConnectionObserver* observer)
    : limits_(limits), home_(std::move(home)), observer_(observer) {
  index_.assign(1024, kEmpty);
}

FlowTable::~FlowTable() = default;

uint64_t FlowTable::hash_of(const IpAddress& a, uint16_t port_a, const IpAddress& b,
                            uint16_t port_b, uint8_t protocol) {
  // Symmetric: the sum of two endpoint hashes does not depend on direction.
  uint64_t ha = a.hash() ^ mix(port_a + 0x10000ULL);
  uint64_t hb = b.hash() ^ mix(port_b + 0x10000ULL);
  return mix(ha + hb + protocol);
}

uint32_t FlowTable::find(const Packet& packet, uint64_t hash, size_t* slot_out) const {
  size_t mask = index_.size() - 1;
  for (size_t slot = hash & mask;; slot = (slot + 1) & mask) {
    uint32_t index = index_[slot];
    if (index == kEmpty) {
      *slot_out = slot;
      return kEmpty;
    }
    const Connection& connection = pool_[index];
    if (connection.key.protocol == packet.protocol &&
        (matches_forward(connection.key, packet) || matches_reverse(connection.key, packet))) {
      *slot_out = slot;
      return index;
    }
  }
}

void FlowTable::process(const Packet& packet) {
  process(packet, counters_.packets + 1);
}

void FlowTable::advance(Timestamp now) {
  if (now <= now_) return;
  now_ = now;
  expire(now_);
}

void FlowTable::process(const Packet& packet, uint64_t sequence) {
  counters_.packets++;
  advance(packet.time);

  uint64_t hash = hash_of(packet.source, packet.source_port, packet.destination,
                          packet.destination_port, packet.protocol);
  size_t slot = 0;
  uint32_t index = find(packet, hash, &slot);

  bool is_tcp = packet.protocol == ip_protocol::kTcp;
  bool bare_syn =
      is_tcp && (packet.tcp_flags & (tcp_flag::kSyn | tcp_flag::kAck)) == tcp_flag::kSyn;
  // A SYN that repeats the original one (same sequence number) is a retransmission.
  bool new_syn = bare_syn && index != kEmpty &&
                 !((pool_[index].tcp_flags_seen & tcp_seen::kSyn) &&
                   pool_[index].initial_sequence == packet.sequence);
  if (new_syn && pool_[index].closed()) {
    // The ports were reused for a new conversation after the old one closed.
    counters_.port_reuse++;
    end_connection(index, (pool_[index].tcp_flags_seen & (tcp_seen::kOrigRst | tcp_seen::kRespRst))
                              ? ConnectionEnd::kRst
                              : ConnectionEnd::kFin);
    index = kEmpty;
  }
  if (index == kEmpty) index = create(packet, hash);

  Connection& connection = pool_[index];
  bool from_originator = matches_forward(connection.key, packet);
  SideCounters& side = from_originator ? connection.originator : connection.responder;
  side.packets++;
  side.ip_bytes += packet.ip_length;
  side.payload_bytes += packet.payload_length;
  if (packet.time < connection.first_time) connection.first_time = packet.time;
  if (packet.time > connection.last_time) connection.last_time = packet.time;
  if (is_tcp) {
    update_tcp_state(connection, packet, from_originator);
    // The latest SYN of each side: a client that gave up and tried again with a new
    // sequence number goes on from the new one.
    uint8_t side = from_originator ? 1 : 2;
    if (packet.tcp_flags & tcp_flag::kSyn) {
      connection.syn_seen |= side;
      connection.syn_sequence[from_originator ? 0 : 1] = packet.sequence;
    }
  }
  connection.last_sequence = sequence;
  touch(index);

  observer_->on_packet(connection, packet, from_originator);
}

void FlowTable::update_tcp_state(Connection& connection, const Packet& packet,
                                 bool from_originator) {
  uint8_t flags = packet.tcp_flags;
  uint16_t& seen = connection.tcp_flags_seen;
  bool syn = flags & tcp_flag::kSyn;
  bool ack = flags & tcp_flag::kAck;
  if (from_originator) {
    if (syn && !ack && !(seen & tcp_seen::kSyn)) {
      seen |= tcp_seen::kSyn;
      connection.initial_sequence = packet.sequence;
    }
    if (!syn && ack && (seen & tcp_seen::kSynAck)) seen |= tcp_seen::kHandshakeAck;
    if (flags & tcp_flag::kFin) seen |= tcp_seen::kOrigFin;
    if (flags & tcp_flag::kRst) seen |= tcp_seen::kOrigRst;
    if (packet.payload_length > 0) seen |= tcp_seen::kOrigData;
  } else {
    if (syn && ack) seen |= tcp_seen::kSynAck;
    if (flags & tcp_flag::kFin) seen |= tcp_seen::kRespFin;
    if (flags & tcp_flag::kRst) seen |= tcp_seen::kRespRst;
    if (packet.payload_length > 0) seen |= tcp_seen::kRespData;
  }
}

uint32_t FlowTable::create(const Packet& packet, uint64_t hash) {
  if (active_ >= limits_.max_connections) {
    uint32_t oldest = least_recent(false);
    if (oldest != kEmpty) {
      counters_.evicted++;
      end_connection(oldest, ConnectionEnd::kEvicted);
    }
  }
  if ((active_ + 1) * 2 > index_.size()) grow_index();

  uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = static_cast<uint32_t>(pool_.size());
    pool_.emplace_back();
  }
  Connection& connection = pool_[index];
  connection = Connection{};
  connection.id = next_id_++;
  connection.first_time = packet.time;
  connection.last_time = packet.time;
  connection.key.protocol = packet.protocol;

  // Decide who opened the conversation.
  bool forward = true;
  if (packet.protocol == ip_protocol::kTcp) {
    bool syn = packet.tcp_flags & tcp_flag::kSyn;
    bool ack = packet.tcp_flags & tcp_flag::kAck;
    if (syn && !ack) {
      connection.role_rule = RoleRule::kSyn;
    } else if (syn && ack) {
      connection.role_rule = RoleRule::kSynAck;
      forward = false;
    } else {
      connection.tcp_flags_seen |= tcp_seen::kMidstream;
    }
  } else if (packet.protocol == ip_protocol::kIcmp || packet.protocol == ip_protocol::kIcmpV6) {
    // Echo replies travel back to the originator; everything else starts with its sender.
    // LIMITATION: ICMP conversations are keyed by type and code, so a request and a reply
    // of a different type (other than echo) become two connections.
    uint16_t type = packet.source_port;
    forward = !(type == 0 || type == 129);
    connection.role_rule = RoleRule::kFirstPacket;
  }
  bool undecided = connection.role_rule == RoleRule::kFirstPacket &&
                   packet.protocol != ip_protocol::kIcmp && packet.protocol != ip_protocol::kIcmpV6;
  if (undecided) {
    bool source_service = is_service_port(packet.source_port);
    bool destination_service = is_service_port(packet.destination_port);
    if (source_service != destination_service) {
      connection.role_rule = RoleRule::kWellKnownPort;
      forward = destination_service;
    } else if (source_service && packet.source_port != packet.destination_port) {
      connection.role_rule = RoleRule::kWellKnownPort;
      forward = packet.destination_port < packet.source_port;
    }
  }

  if (forward) {
    connection.key.originator = packet.source;
    connection.key.originator_port = packet.source_port;
    connection.key.responder = packet.destination;
    connection.key.responder_port = packet.destination_port;
  } else {
    connection.key.originator = packet.destination;
    connection.key.originator_port = packet.destination_port;
    connection.key.responder = packet.source;
    connection.key.responder_port = packet.source_port;
  }
  connection.originator_local = home_.contains(connection.key.originator);
  connection.responder_local = home_.contains(connection.key.responder);

  size_t mask = index_.size() - 1;
  size_t slot = hash & mask;
  while (index_[slot] != kEmpty) slot = (slot + 1) & mask;
  index_[slot] = index;
  active_++;
  counters_.connections_created++;
  observer_->on_connection_start(connection);
  return index;
}

void FlowTable::swap_roles(Connection& connection) {
  std::swap(connection.key.originator, connection.key.responder);
  std::swap(connection.key.originator_port, connection.key.responder_port);
  std::swap(connection.originator, connection.responder);
  std::swap(connection.originator_local, connection.responder_local);
  std::swap(connection.syn_sequence[0], connection.syn_sequence[1]);
  connection.syn_seen =
      static_cast<uint8_t>(((connection.syn_seen & 1) << 1) | ((connection.syn_seen >> 1) & 1));
  uint16_t seen = connection.tcp_flags_seen;
  auto move_bit = [&](uint16_t from, uint16_t to) -> uint16_t { return (seen & from) ? to : 0; };
  uint16_t kept =
      seen & (tcp_seen::kSyn | tcp_seen::kSynAck | tcp_seen::kHandshakeAck | tcp_seen::kMidstream);
  connection.tcp_flags_seen = kept | move_bit(tcp_seen::kOrigFin, tcp_seen::kRespFin) |
                              move_bit(tcp_seen::kRespFin, tcp_seen::kOrigFin) |
                              move_bit(tcp_seen::kOrigRst, tcp_seen::kRespRst) |
                              move_bit(tcp_seen::kRespRst, tcp_seen::kOrigRst) |
                              move_bit(tcp_seen::kOrigData, tcp_seen::kRespData) |
                              move_bit(tcp_seen::kRespData, tcp_seen::kOrigData);
  counters_.roles_swapped++;
}

void FlowTable::end_connection(uint32_t index, ConnectionEnd reason) {
  Connection& connection = pool_[index];
  connection.end = reason;
  observer_->on_connection_end(connection);
  counters_.connections_ended++;

  // Find the connection's slot by probing with its own key.
  const ConnectionKey& key = connection.key;
  uint64_t hash =
      hash_of(key.originator, key.originator_port, key.responder, key.responder_port, key.protocol);
  size_t mask = index_.size() - 1;
  size_t slot = hash & mask;
  while (index_[slot] != index) slot = (slot + 1) & mask;
  erase_slot(slot);

  unlink(index);
  connection.extension.reset();
  free_.push_back(index);
  active_--;
}

void FlowTable::erase_slot(size_t slot) {
  // Backward-shift deletion keeps probe chains intact without tombstones.
  size_t mask = index_.size() - 1;
  index_[slot] = kEmpty;
  size_t hole = slot;
  for (size_t next = (slot + 1) & mask; index_[next] != kEmpty; next = (next + 1) & mask) {
    const ConnectionKey& key = pool_[index_[next]].key;
    size_t home = hash_of(key.originator, key.originator_port, key.responder, key.responder_port,
                          key.protocol) &
                  mask;
    bool between = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
    if (!between) {
      index_[hole] = index_[next];
      index_[next] = kEmpty;
      hole = next;
    }
  }
}

void FlowTable::grow_index() {
  std::vector<uint32_t> old = std::move(index_);
  index_.assign(old.size() * 2, kEmpty);
  size_t mask = index_.size() - 1;
  for (uint32_t index : old) {
    if (index == kEmpty) continue;
    const ConnectionKey& key = pool_[index].key;
    size_t slot = hash_of(key.originator, key.originator_port, key.responder, key.responder_port,
                          key.protocol) &
                  mask;
    while (index_[slot] != kEmpty) slot = (slot + 1) & mask;
    index_[slot] = index;
  }
}

void FlowTable::unlink(uint32_t index) {
  Connection& connection = pool_[index];
  Lru& lru = lru_[connection.idle_class];
  if (connection.older != kEmpty) pool_[connection.older].newer = connection.newer;
  if (connection.newer != kEmpty) pool_[connection.newer].older = connection.older;
  if (lru.oldest == index) lru.oldest = connection.newer;
  if (lru.newest == index) lru.newest = connection.older;
  connection.older = kEmpty;
  connection.newer = kEmpty;
}

void FlowTable::touch(uint32_t index) {
  Connection& connection = pool_[index];
  uint8_t idle_class = idle_class_of(connection);
  Lru& current = lru_[connection.idle_class];
  bool linked = connection.older != kEmpty || connection.newer != kEmpty || current.oldest == index;
  if (linked) {
    if (idle_class == connection.idle_class && current.newest == index) return;
    unlink(index);
  }
  connection.idle_class = idle_class;
  Lru& lru = lru_[idle_class];
  connection.older = lru.newest;
  connection.newer = kEmpty;
  if (lru.newest != kEmpty) pool_[lru.newest].newer = index;
  lru.newest = index;
  if (lru.oldest == kEmpty) lru.oldest = index;
}

uint8_t FlowTable::idle_class_of(const Connection& connection) const {
  switch (connection.key.protocol) {
    case ip_protocol::kTcp: return connection.closed() ? 1 : 0;
    case ip_protocol::kUdp: return 2;
    default: return 3;
  }
}

Timestamp FlowTable::idle_timeout(uint8_t idle_class) const {
  switch (idle_class) {
    case 0: return limits_.tcp_idle_timeout;
    case 1: return limits_.closed_linger;
    case 2: return limits_.udp_idle_timeout;
    default: return limits_.icmp_idle_timeout;
  }
}

uint32_t FlowTable::least_recent(bool expired_only) const {
  uint32_t best = kEmpty;
  for (uint8_t idle_class = 0; idle_class < kIdleClasses; ++idle_class) {
    uint32_t head = lru_[idle_class].oldest;
    if (head == kEmpty) continue;
    const Connection& connection = pool_[head];
    if (expired_only && now_ - connection.last_time <= idle_timeout(idle_class)) continue;
    if (best == kEmpty || connection.last_sequence < pool_[best].last_sequence) best = head;
  }
  return best;
}

void FlowTable::expire(Timestamp now) {
  now_ = std::max(now_, now);
  // Within a class every connection waits the same time, so only list heads can be due;
  // among the due heads the least recently touched leaves first.
  // LIMITATION: with capture timestamps that go backwards a connection touched later
  // can have an earlier last packet; it then waits behind its list's head.
  for (uint32_t index = least_recent(true); index != kEmpty; index = least_recent(true)) {
    const Connection& connection = pool_[index];
    if (connection.closed()) {
      end_connection(index, (connection.tcp_flags_seen & (tcp_seen::kOrigRst | tcp_seen::kRespRst))
                                ? ConnectionEnd::kRst
                                : ConnectionEnd::kFin);
    } else {
      counters_.timed_out++;
      end_connection(index, ConnectionEnd::kIdleTimeout);
    }
  }
}

void FlowTable::finish() {
  for (uint32_t index = least_recent(false); index != kEmpty; index = least_recent(false)) {
    const Connection& connection = pool_[index];
    ConnectionEnd reason = ConnectionEnd::kEndOfInput;
    if (connection.closed()) {
      reason = (connection.tcp_flags_seen & (tcp_seen::kOrigRst | tcp_seen::kRespRst))
                   ? ConnectionEnd::kRst
                   : ConnectionEnd::kFin;
    }
    end_connection(index, reason);
  }
}

Connection Connection::snapshot() const {
  Connection copy;
  copy.id = id;
  copy.key = key;
  copy.first_time = first_time;
  copy.last_time = last_time;
  copy.originator = originator;
  copy.responder = responder;
  copy.tcp_flags_seen = tcp_flags_seen;
  copy.initial_sequence = initial_sequence;
  copy.role_rule = role_rule;
  copy.end = end;
  copy.originator_local = originator_local;
  copy.responder_local = responder_local;
  copy.smtp = smtp;
  copy.missed_bytes = missed_bytes;
  copy.idle_class = idle_class;
  copy.syn_seen = syn_seen;
  copy.syn_sequence[0] = syn_sequence[0];
  copy.syn_sequence[1] = syn_sequence[1];
  copy.last_sequence = last_sequence;
  return copy;
}

std::string connection_state(const Connection& c) {
  if (c.key.protocol != ip_protocol::kTcp) {
    return c.responder.packets > 0 ? "SF" : "S0";
  }
  uint16_t s = c.tcp_flags_seen;
  bool syn = s & tcp_seen::kSyn;
  bool synack = s & tcp_seen::kSynAck;
  bool established = syn && synack;
  bool orig_rst = s & tcp_seen::kOrigRst;
  bool resp_rst = s & tcp_seen::kRespRst;
  bool orig_fin = s & tcp_seen::kOrigFin;
  bool resp_fin = s & tcp_seen::kRespFin;
  if (!syn && !synack) return "OTH";
  if (syn && !synack) {
    if (resp_rst) return "REJ";
    if (orig_rst) return "RSTOS0";
    if (orig_fin) return "SH";
    return c.responder.packets > 0 ? "OTH" : "S0";
  }
  if (!syn && synack) {
    if (resp_rst) return "RSTRH";
    if (resp_fin) return "SHR";
    return "OTH";
  }
  if (established) {
    if (orig_rst) return "RSTO";
    if (resp_rst) return "RSTR";
    if (orig_fin && resp_fin) return "SF";
    if (orig_fin) return "S2";
    if (resp_fin) return "S3";
    return "S1";
  }
  return "OTH";
}

const char* to_string(ConnectionEnd end) {
  switch (end) {
    case ConnectionEnd::kOpen: return "open";
    case ConnectionEnd::kFin: return "fin";
    case ConnectionEnd::kRst: return "rst";
    case ConnectionEnd::kIdleTimeout: return "timeout";
    case ConnectionEnd::kEvicted: return "evicted";
    case ConnectionEnd::kEndOfInput: return "end_of_input";
  }
  return "unknown";
}

const char* to_string(RoleRule rule) {
  switch (rule) {
    case RoleRule::kSyn: return "syn";
    case RoleRule::kSynAck: return "syn_ack";
    case RoleRule::kWellKnownPort: return "service_port";
    case RoleRule::kFirstPacket: return "first_packet";
    case RoleRule::kSmtpGreeting: return "smtp_greeting";
  }
  return "unknown";
}

}  // namespace spamtap
