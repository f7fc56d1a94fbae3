#include "pipeline/shard.hpp"

#include <memory>
#include <string>
#include <vector>

namespace spamtap {

namespace {

bool is_smtp_port(uint16_t port) {
  return port == 25 || port == 587 || port == 2525;
}

// A server greeting line: "220 " or "220-" (also 421/554 refusals at connect).
bool starts_like_greeting(std::span<const uint8_t> payload) {
  if (payload.size() < 4) return false;
  bool code = (payload[0] == '2' && payload[1] == '2' && payload[2] == '0') ||
              (payload[0] == '5' && payload[1] == '5' && payload[2] == '4') ||
              (payload[0] == '4' && payload[1] == '2' && payload[2] == '1');
  return code && (payload[3] == ' ' || payload[3] == '-');
}

}  // namespace

// Reassembly of both directions plus the SMTP analyzer of one connection.
class Shard::SmtpAnalysis : public ConnectionExtension {
 public:
  SmtpAnalysis(const StreamLimits& stream_limits, const smtp::Limits& smtp_limits)
      : client_stream(stream_limits),
        server_stream(stream_limits),
        session(smtp_limits),
        client_sink(this, true),
        server_sink(this, false) {}

  struct Sink : StreamSink {
    Sink(SmtpAnalysis* owner, bool client) : owner(owner), client(client) {}
    void stream_data(Timestamp time, std::span<const uint8_t> bytes) override {
      if (owner->session.finished_parsing()) return;
      client ? owner->session.client_data(time, bytes) : owner->session.server_data(time, bytes);
    }
    void stream_gap(Timestamp time, uint64_t missing) override {
      client ? owner->session.client_gap(time, missing) : owner->session.server_gap(time, missing);
    }
    SmtpAnalysis* owner;
    bool client;
  };

  StreamReassembler client_stream;
  StreamReassembler server_stream;
  smtp::SmtpSession session;
  Sink client_sink;
  Sink server_sink;
  bool greeting_reported = false;
  bool counted = false;
  uint64_t transactions = 0;
  // Found by its greeting on a port that is not a mail port: many protocols greet with
  // "220" (FTP, for one), so it counts as SMTP only once the client uses a verb no other
  // protocol has. Until then its exchanges wait here; too many without one, and the
  // connection is left alone.
  bool needs_confirmation = false;
  bool abandoned = false;
  std::vector<smtp::Exchange> unconfirmed;
};

Shard::Shard(const ShardSettings& settings, ShardOutput* output)
    : settings_(settings), output_(output), flows_(settings_.flow, settings_.home, this) {}

Shard::~Shard() = default;

bool Shard::should_analyze_smtp(const Connection& connection, const Packet& packet,
                                bool from_originator) const {
  if (connection.key.protocol != ip_protocol::kTcp) return false;
  if (is_smtp_port(connection.key.responder_port)) return true;
  // Any other port: a server whose first bytes are an SMTP greeting.
  // LIMITATION: there the analyzer starts at the greeting, so bytes a client sent before
  // it (a bot that talks first) are a gap, and that habit is not seen on such ports.
  return !from_originator && connection.responder.payload_bytes == packet.payload_length &&
         starts_like_greeting(packet.payload);
}

bool Shard::greets_as_originator(const Connection& connection, const Packet& packet,
                                 bool from_originator) const {
  return from_originator && connection.key.protocol == ip_protocol::kTcp &&
         connection.role_rule == RoleRule::kFirstPacket && connection.responder.packets == 0 &&
         connection.originator.payload_bytes == packet.payload_length &&
         starts_like_greeting(packet.payload);
}

void Shard::on_connection_start(Connection& connection) {
  output_->connection_started(connection.id);
}

void Shard::on_packet(Connection& connection, const Packet& packet, bool from_originator) {
  auto* analysis = static_cast<SmtpAnalysis*>(connection.extension.get());
  if (!analysis) {
    if (greets_as_originator(connection, packet, from_originator)) {
      // Picked up without a handshake and no port decided the roles: the side that
      // greets like an SMTP server is the responder.
      flows_.swap_roles(connection);
      connection.role_rule = RoleRule::kSmtpGreeting;
      from_originator = false;
    }
    if (!should_analyze_smtp(connection, packet, from_originator)) return;
    // Nothing to reassemble yet: the analyzer (over a kilobyte) waits for the first
    // bytes, so connections that never say anything (scans, held-open sockets) cost
    // only their flow-table slot. The handshake's sequence numbers are on the connection.
    if (packet.payload.empty()) return;
    connection.extension = std::make_unique<SmtpAnalysis>(settings_.stream, settings_.smtp);
    analysis = static_cast<SmtpAnalysis*>(connection.extension.get());
    analysis->needs_confirmation = !is_smtp_port(connection.key.responder_port);
    if (connection.syn_seen & 1) analysis->client_stream.start(connection.syn_sequence[0]);
    if (connection.syn_seen & 2) analysis->server_stream.start(connection.syn_sequence[1]);
  }
  if (analysis->session.finished_parsing() || analysis->abandoned) return;

  StreamReassembler& own = from_originator ? analysis->client_stream : analysis->server_stream;
  StreamReassembler& other = from_originator ? analysis->server_stream : analysis->client_stream;
  StreamSink& own_sink = from_originator ? static_cast<StreamSink&>(analysis->client_sink)
                                         : static_cast<StreamSink&>(analysis->server_sink);
  StreamSink& other_sink = from_originator ? static_cast<StreamSink&>(analysis->server_sink)
                                           : static_cast<StreamSink&>(analysis->client_sink);

  size_t held_before = own.buffered_bytes() + other.buffered_bytes();
  if (packet.tcp_flags & tcp_flag::kSyn) own.start(packet.sequence);
  if (!packet.payload.empty() && !(packet.tcp_flags & tcp_flag::kRst)) {
    // Data riding on a SYN starts one after the SYN's own sequence number.
    uint32_t first_byte = packet.sequence + ((packet.tcp_flags & tcp_flag::kSyn) ? 1 : 0);
    own.segment(packet.time, first_byte, packet.payload, own_sink);
  }
  if (packet.tcp_flags & tcp_flag::kAck) {
    other.acknowledged(packet.time, packet.acknowledgment, other_sink);
  }
  reassembly_held_ += own.buffered_bytes() + other.buffered_bytes();
  reassembly_held_ -= held_before;
  if (reassembly_held_ > settings_.max_reassembly_bytes && own.buffered_bytes() > 0) {
    // All streams together hold too much: this one gives up on its holes now.
    reassembly_held_ -= own.buffered_bytes();
    own.flush(packet.time, own_sink);
    counters_["reassembly_global_cap_flushes"]++;
  }
  collect(connection, *analysis);
}

namespace {

// Verbs only an SMTP client sends (FTP shares QUIT, AUTH, NOOP, HELP, RSET is rare).
bool smtp_only_verb(const std::string& verb) {
  return verb == "HELO" || verb == "EHLO" || verb == "LHLO" || verb == "MAIL" || verb == "RCPT" ||
         verb == "DATA" || verb == "BDAT" || verb == "STARTTLS";
}

constexpr size_t kMaxUnconfirmedExchanges = 16;

}  // namespace

void Shard::collect(Connection& connection, SmtpAnalysis& analysis) {
  smtp::SmtpSession& session = analysis.session;
  if (!session.looks_like_smtp() || analysis.abandoned) return;
  if (analysis.needs_confirmation) {
    for (auto& exchange : session.take_exchanges()) {
      if (smtp_only_verb(exchange.verb)) analysis.needs_confirmation = false;
      analysis.unconfirmed.push_back(std::move(exchange));
    }
    if (analysis.needs_confirmation) {
      if (analysis.unconfirmed.size() > kMaxUnconfirmedExchanges) {
        analysis.abandoned = true;
        analysis.unconfirmed.clear();
        counters_["smtp_greeting_not_confirmed"]++;
      }
      return;
    }
  }
  if (!analysis.counted) {
    analysis.counted = true;
    connection.smtp = true;
    counters_["smtp_sessions"]++;
  }

  SmtpContext context = smtp_context(connection);
  if (!analysis.greeting_reported && session.summary().greeting.code != 0) {
    analysis.greeting_reported = true;
    output_->greeting(context, session.summary().greeting);
  }
  for (auto& exchange : analysis.unconfirmed) output_->exchange(context, std::move(exchange));
  analysis.unconfirmed.clear();
  for (auto& exchange : session.take_exchanges()) output_->exchange(context, std::move(exchange));
  for (auto& transaction : session.take_transactions()) {
    analysis.transactions++;
    output_->transaction(context, std::move(transaction));
  }
  for (auto& anomaly : session.take_anomalies()) {
    counters_["smtp_anomalies"]++;
    output_->anomaly(AnomalyRecord{anomaly.time, connection.id, std::move(anomaly.name),
                                   std::move(anomaly.detail)});
  }
  output_->collected();
}

SmtpContext Shard::smtp_context(const Connection& connection) {
  SmtpContext context;
  context.connection_id = connection.id;
  context.client = connection.key.originator;
  context.server = connection.key.responder;
  context.server_port = connection.key.responder_port;
  context.client_local = connection.originator_local;
  context.server_local = connection.responder_local;
  return context;
}

void Shard::on_connection_end(Connection& connection) {
  if (auto* analysis = static_cast<SmtpAnalysis*>(connection.extension.get())) {
    reassembly_held_ -=
        analysis->client_stream.buffered_bytes() + analysis->server_stream.buffered_bytes();
    analysis->client_stream.flush(connection.last_time, analysis->client_sink);
    analysis->server_stream.flush(connection.last_time, analysis->server_sink);
    analysis->session.end(connection.last_time);
    collect(connection, *analysis);
    const auto& client = analysis->client_stream.counters();
    const auto& server = analysis->server_stream.counters();
    counters_["reassembly_gap_bytes"] += client.gap_bytes + server.gap_bytes;
    connection.missed_bytes = client.gap_bytes + server.gap_bytes;
    counters_["reassembly_retransmitted_bytes"] +=
        client.retransmitted_bytes + server.retransmitted_bytes;
    counters_["reassembly_inconsistent_overlap_bytes"] +=
        client.inconsistent_overlap_bytes + server.inconsistent_overlap_bytes;
    if (analysis->counted) {
      SmtpSessionRecord record;
      record.connection_id = connection.id;
      record.time = connection.first_time;
      record.client = connection.key.originator;
      record.server = connection.key.responder;
      record.server_port = connection.key.responder_port;
      record.summary = analysis->session.summary();
      record.transactions = analysis->transactions;
      output_->session_end(smtp_context(connection), std::move(record), connection.last_time);
    }
  }
  output_->connection_end(connection);
}

}  // namespace spamtap
