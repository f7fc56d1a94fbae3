// Connection: one bidirectional conversation (TCP, UDP or ICMP) as the flow table
// sees it. The originator is the side that opened it (the SYN sender), or, when the
// opening was not captured, the side chosen by the rule recorded in `role_rule`.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/address.hpp"
#include "core/time.hpp"

namespace spamtap {

struct SideCounters {
  uint64_t packets = 0;
  uint64_t ip_bytes = 0;       // IP header + payload, per the IP header
  uint64_t payload_bytes = 0;  // transport payload per the headers
};

// How the originator/responder roles were decided.
enum class RoleRule : uint8_t {
  kSyn,            // the originator sent the SYN
  kSynAck,         // only the SYN-ACK was seen; its sender is the responder
  kWellKnownPort,  // no handshake seen; the side on a service port is the responder
  kFirstPacket,    // none of the above; the first packet's sender is the originator
  kSmtpGreeting,   // decided later: the side that greets like an SMTP server responds
};

enum class ConnectionEnd : uint8_t {
  kOpen,  // still in the table
  kFin,   // both sides sent FIN
  kRst,   // a RST ended it
  kIdleTimeout,
  kEvicted,     // removed because the table was full
  kEndOfInput,  // the capture ended while it was open
};

// TCP handshake/teardown progress per side, kept as bits to stay small.
namespace tcp_seen {
constexpr uint16_t kSyn = 1 << 0;     // originator SYN
constexpr uint16_t kSynAck = 1 << 1;  // responder SYN-ACK
constexpr uint16_t kHandshakeAck = 1 << 2;
constexpr uint16_t kOrigFin = 1 << 3;
constexpr uint16_t kRespFin = 1 << 4;
constexpr uint16_t kOrigRst = 1 << 5;
constexpr uint16_t kRespRst = 1 << 6;
constexpr uint16_t kOrigData = 1 << 7;
constexpr uint16_t kRespData = 1 << 8;
constexpr uint16_t kMidstream = 1 << 9;  // first packet was not a SYN or SYN-ACK
}  // namespace tcp_seen

struct ConnectionKey {
  IpAddress originator;
  IpAddress responder;
  uint16_t originator_port = 0;
  uint16_t responder_port = 0;
  uint8_t protocol = 0;
};

// Per-connection state that later stages attach (reassembly and the SMTP analyzer).
// The flow table owns it and destroys it with the connection.
class ConnectionExtension {
 public:
  virtual ~ConnectionExtension() = default;
};

struct Connection {
  uint64_t id = 0;  // unique within a run, increasing in order of first packet
  ConnectionKey key;
  Timestamp first_time = 0;
  Timestamp last_time = 0;
  SideCounters originator;
  SideCounters responder;
  uint16_t tcp_flags_seen = 0;    // tcp_seen bits
  uint32_t initial_sequence = 0;  // the originator's SYN sequence number, when seen
  RoleRule role_rule = RoleRule::kFirstPacket;
  ConnectionEnd end = ConnectionEnd::kOpen;
  bool originator_local = false;
  bool responder_local = false;
  bool smtp = false;       // the conversation was analyzed as SMTP
  uint8_t idle_class = 0;  // the flow table's timeout list it is on
  // The sequence number of each side's latest SYN (bit 0: originator, bit 1: responder
  // in `syn_seen`), kept for a stream analyzer that is set up after the handshake.
  uint8_t syn_seen = 0;
  uint32_t syn_sequence[2] = {0, 0};
  uint64_t missed_bytes = 0;  // stream bytes reassembly never saw (analyzed connections)
  std::unique_ptr<ConnectionExtension> extension;

  // Intrusive least-recently-active list, maintained by the flow table: one list per
  // idle-timeout class, so the head of each list is the next of its class to expire.
  uint32_t older = UINT32_MAX;
  uint32_t newer = UINT32_MAX;
  // Position in the input of the packet that last touched it (the flow table's
  // sequence). Orders expiries the same way however the input is split over workers.
  uint64_t last_sequence = 0;

  bool handshake_completed() const {
    return (tcp_flags_seen & tcp_seen::kSyn) && (tcp_flags_seen & tcp_seen::kSynAck) &&
           (tcp_flags_seen & tcp_seen::kHandshakeAck);
  }
  bool closed() const;

  // A copy of everything but the extension and the list links, for records that
  // outlive the table's slot. A field added to Connection is added there too.
  Connection snapshot() const;
};

// A compact summary in the spirit of the conn_state codes operators know from Zeek:
// S0 (attempt, no reply), S1 (established, open), SF (normal FIN close), REJ
// (rejected with RST), RSTO/RSTR (reset by originator/responder after establishing),
// RSTOS0/RSTRH (reset before establishing), SH/SHR (half-open FIN), OTH (midstream).
std::string connection_state(const Connection& connection);
const char* to_string(ConnectionEnd end);
const char* to_string(RoleRule rule);

}  // namespace spamtap
