#include "pipeline/pipeline.hpp"

#include <chrono>

#include "core/text.hpp"

namespace spamtap {

namespace {

bool is_smtp_port(uint16_t port) { return port == 25 || port == 587 || port == 2525; }

// A server greeting line: "220 " or "220-" (also 421/554 refusals at connect).
bool starts_like_greeting(std::span<const uint8_t> payload) {
  if (payload.size() < 4) return false;
  bool code = (payload[0] == '2' && payload[1] == '2' && payload[2] == '0') ||
              (payload[0] == '5' && payload[1] == '5' && payload[2] == '4') ||
              (payload[0] == '4' && payload[1] == '2' && payload[2] == '1');
  return code && (payload[3] == ' ' || payload[3] == '-');
}

Timestamp wall_clock_now() {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

// Reassembly of both directions plus the SMTP analyzer of one connection.
class Pipeline::SmtpAnalysis : public ConnectionExtension {
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
      client ? owner->session.client_gap(time, missing)
             : owner->session.server_gap(time, missing);
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
};

Pipeline::Pipeline(AnalysisOptions options, std::vector<RecordSink*> sinks)
    : options_(std::move(options)),
      sinks_(std::move(sinks)),
      decoder_(options_.decode),
      flows_(options_.flow, options_.home, this),
      detector_(options_.detection),
      blocklist_detector_(options_.blocklists),
      started_(wall_clock_now()) {}

Pipeline::~Pipeline() = default;

FileOutcome Pipeline::process_file(const std::string& path, std::string* message,
                                   const std::function<void(const Progress&)>& progress) {
  inputs_.push_back(path);
  std::string error;
  auto capture = CaptureFile::open(path, options_.bpf_filter, &error);
  if (!capture) {
    *message = error;
    counters_["files_unreadable"]++;
    return FileOutcome::kNotReadable;
  }

  Progress state;
  state.file = &path;
  Frame frame;
  uint64_t frames = 0;
  for (;;) {
    auto status = capture->next(&frame);
    if (status == CaptureFile::ReadStatus::kEnd) break;
    if (status == CaptureFile::ReadStatus::kError) {
      *message = capture->error();
      counters_["files_damaged"]++;
      counters_["frames_filtered"] += capture->frames_filtered();
      return FileOutcome::kDamaged;
    }
    process_frame(frame);
    if (progress && (++frames & 0x3FFF) == 0) {
      state.bytes_done = capture->bytes_consumed();
      state.bytes_total = capture->total_bytes();
      state.packets = frames_;
      progress(state);
    }
  }
  counters_["frames_filtered"] += capture->frames_filtered();
  return FileOutcome::kComplete;
}

void Pipeline::process_frame(const Frame& frame) {
  frames_++;  // a plain counter: this runs for every frame
  Packet packet;
  DecodeStatus status = decoder_.decode(frame, &packet);
  if (status != DecodeStatus::kPacket) return;
  if (first_packet_ == 0 || packet.time < first_packet_) first_packet_ = packet.time;
  if (packet.time > last_packet_) last_packet_ = packet.time;
  flows_.process(packet);
}

bool Pipeline::should_analyze_smtp(const Connection& connection, const Packet& packet,
                                   bool from_originator) const {
  if (connection.key.protocol != ip_protocol::kTcp) return false;
  if (is_smtp_port(connection.key.responder_port)) return true;
  // Any other port: a server whose first bytes are an SMTP greeting.
  return !from_originator && connection.responder.payload_bytes == packet.payload_length &&
         starts_like_greeting(packet.payload);
}

bool Pipeline::greets_as_originator(const Connection& connection, const Packet& packet,
                                    bool from_originator) const {
  return from_originator && connection.key.protocol == ip_protocol::kTcp &&
         connection.role_rule == RoleRule::kFirstPacket && connection.responder.packets == 0 &&
         connection.originator.payload_bytes == packet.payload_length &&
         starts_like_greeting(packet.payload);
}

void Pipeline::on_packet(Connection& connection, const Packet& packet, bool from_originator) {
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
    connection.extension = std::make_unique<SmtpAnalysis>(options_.stream, options_.smtp);
    analysis = static_cast<SmtpAnalysis*>(connection.extension.get());
  }
  if (analysis->session.finished_parsing()) return;

  StreamReassembler& own = from_originator ? analysis->client_stream : analysis->server_stream;
  StreamReassembler& other = from_originator ? analysis->server_stream : analysis->client_stream;
  StreamSink& own_sink = from_originator ? static_cast<StreamSink&>(analysis->client_sink)
                                         : static_cast<StreamSink&>(analysis->server_sink);
  StreamSink& other_sink = from_originator ? static_cast<StreamSink&>(analysis->server_sink)
                                           : static_cast<StreamSink&>(analysis->client_sink);

  size_t held_before = own.buffered_bytes() + other.buffered_bytes();
  if (packet.tcp_flags & tcp_flag::kSyn) own.start(packet.sequence);
  if (!packet.payload.empty() && !(packet.tcp_flags & tcp_flag::kRst)) {
    own.segment(packet.time, packet.sequence, packet.payload, own_sink);
  }
  if (packet.tcp_flags & tcp_flag::kAck) {
    other.acknowledged(packet.time, packet.acknowledgment, other_sink);
  }
  reassembly_held_ += own.buffered_bytes() + other.buffered_bytes();
  reassembly_held_ -= held_before;
  if (reassembly_held_ > options_.max_reassembly_bytes && own.buffered_bytes() > 0) {
    // All streams together hold too much: this one gives up on its holes now.
    reassembly_held_ -= own.buffered_bytes();
    own.flush(packet.time, own_sink);
    counters_["reassembly_global_cap_flushes"]++;
  }
  collect(connection, *analysis);
}

void Pipeline::collect(Connection& connection, SmtpAnalysis& analysis) {
  smtp::SmtpSession& session = analysis.session;
  if (!session.looks_like_smtp()) return;
  if (!analysis.counted) {
    analysis.counted = true;
    connection.smtp = true;
    smtp_sessions_++;
  }

  SmtpContext context = smtp_context(connection);

  if (!analysis.greeting_reported && session.summary().greeting.code != 0) {
    analysis.greeting_reported = true;
    detector_.on_greeting(context, session.summary().greeting);
  }
  for (auto& exchange : session.take_exchanges()) {
    detector_.on_exchange(context, exchange);
    SmtpExchangeRecord record{connection.id, context.client, context.server,
                              std::move(exchange)};
    for (RecordSink* sink : sinks_) sink->write_exchange(record);
  }
  for (auto& transaction : session.take_transactions()) {
    SmtpRecord record;
    record.connection_id = connection.id;
    record.client = context.client;
    record.server = context.server;
    record.server_port = context.server_port;
    record.transaction = std::move(transaction);
    detector_.on_transaction(context, record.transaction);
    smtp_transactions_++;
    analysis.transactions++;
    for (RecordSink* sink : sinks_) sink->write_smtp(record);
  }
  for (auto& anomaly : session.take_anomalies()) {
    AnomalyRecord record{anomaly.time, connection.id, std::move(anomaly.name),
                         std::move(anomaly.detail)};
    counters_["smtp_anomalies"]++;
    for (RecordSink* sink : sinks_) sink->write_anomaly(record);
  }
  emit_detections();
}

void Pipeline::emit_detections() {
  for (const auto& event : detector_.take_events()) emit_event(event);
  for (const auto& software : detector_.take_software()) {
    for (RecordSink* sink : sinks_) sink->write_software(software);
  }
}

SmtpContext Pipeline::smtp_context(const Connection& connection) {
  SmtpContext context;
  context.connection_id = connection.id;
  context.client = connection.key.originator;
  context.server = connection.key.responder;
  context.server_port = connection.key.responder_port;
  context.client_local = connection.originator_local;
  context.server_local = connection.responder_local;
  return context;
}

void Pipeline::emit_event(const Event& event) {
  events_written_++;
  for (RecordSink* sink : sinks_) sink->write_event(event);
}

void Pipeline::on_connection_end(Connection& connection) {
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
      for (RecordSink* sink : sinks_) sink->write_session(record);
    }
    if (analysis->counted) {
      detector_.on_session_end(smtp_context(connection), analysis->session.summary(),
                               connection.last_time);
      emit_detections();
    }
  }
  blocklist_events_.clear();
  if (blocklist_detector_.check(connection, &blocklist_events_) > 0) {
    for (const auto& event : blocklist_events_) emit_event(event);
  }
  for (RecordSink* sink : sinks_) sink->write_connection(connection);
}

void Pipeline::set_blocklists(std::shared_ptr<const intel::BlocklistSet> blocklists) {
  options_.blocklists = blocklists;
  blocklist_detector_.set_blocklists(std::move(blocklists));
}

void Pipeline::finish() {
  if (finished_) return;
  finished_ = true;
  flows_.finish();

  const FlowCounters& flow = flows_.counters();
  counters_["frames"] = frames_;
  counters_["packets"] = flow.packets;
  counters_["connections"] = flow.connections_created;
  counters_["connections_timed_out"] = flow.timed_out;
  counters_["connections_evicted"] = flow.evicted;
  counters_["connections_port_reuse"] = flow.port_reuse;
  counters_["smtp_sessions"] = smtp_sessions_;
  counters_["smtp_transactions"] = smtp_transactions_;
  counters_["events"] = events_written_;
  if (blocklist_detector_.blocklists()) {
    const BlocklistDetectorCounters& blocklist = blocklist_detector_.counters();
    counters_["blocklist_connections_checked"] = blocklist.connections_checked;
    counters_["blocklist_connections_listed"] = blocklist.connections_listed;
    counters_["blocklist_events"] = blocklist.events;
  }
  counters_["frames_not_ip"] = decoder_.not_ip();
  for (const auto& [name, count] : decoder_.anomalies()) counters_["decode." + name] = count;

  RunRecord run;
  run.started = started_;
  run.first_packet = first_packet_;
  run.last_packet = last_packet_;
  run.inputs = inputs_;
  run.counters = counters_;
  for (RecordSink* sink : sinks_) {
    sink->write_run(run);
    sink->flush();
  }
}

}  // namespace spamtap
