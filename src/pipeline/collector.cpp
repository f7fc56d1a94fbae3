#include "pipeline/collector.hpp"

namespace spamtap {

Collector::Collector(DetectionSettings detection,
                     std::shared_ptr<const intel::BlocklistSet> blocklists,
                     std::vector<RecordSink*> sinks)
    : sinks_(std::move(sinks)),
      detector_(std::move(detection)),
      blocklist_detector_(std::move(blocklists)) {}

void Collector::set_blocklists(std::shared_ptr<const intel::BlocklistSet> blocklists) {
  std::lock_guard lock(pending_mutex_);
  pending_blocklists_ = std::move(blocklists);
  blocklists_pending_.store(true, std::memory_order_release);
}

void Collector::take_pending_blocklists() {
  std::lock_guard lock(pending_mutex_);
  blocklist_detector_.set_blocklists(std::move(pending_blocklists_));
  pending_blocklists_.reset();
  blocklists_pending_.store(false, std::memory_order_release);
}

void Collector::emit_event(const Event& event) {
  events_written_++;
  for (RecordSink* sink : sinks_) sink->write_event(event);
}

void Collector::emit_detections() {
  for (const auto& event : detector_.take_events()) emit_event(event);
  for (const auto& software : detector_.take_software()) {
    for (RecordSink* sink : sinks_) sink->write_software(software);
  }
}

uint64_t Collector::Port::run_id(uint64_t shard_id) const {
  auto found = ids_.find(shard_id);
  return found == ids_.end() ? 0 : found->second;
}

SmtpContext Collector::Port::run_context(const SmtpContext& context) const {
  SmtpContext mapped = context;
  mapped.connection_id = run_id(context.connection_id);
  return mapped;
}

void Collector::Port::connection_started(uint64_t id) {
  ids_[id] = collector_->next_id_++;
}

void Collector::Port::greeting(const SmtpContext& context, const smtp::Reply& reply) {
  collector_->detector_.on_greeting(run_context(context), reply);
}

void Collector::Port::exchange(const SmtpContext& context, smtp::Exchange exchange) {
  SmtpContext mapped = run_context(context);
  collector_->detector_.on_exchange(mapped, exchange);
  SmtpExchangeRecord record{mapped.connection_id, mapped.client, mapped.server,
                            std::move(exchange)};
  for (RecordSink* sink : collector_->sinks_) sink->write_exchange(record);
}

void Collector::Port::transaction(const SmtpContext& context, smtp::Transaction transaction) {
  SmtpContext mapped = run_context(context);
  SmtpRecord record;
  record.connection_id = mapped.connection_id;
  record.client = mapped.client;
  record.server = mapped.server;
  record.server_port = mapped.server_port;
  record.transaction = std::move(transaction);
  collector_->detector_.on_transaction(mapped, record.transaction);
  collector_->smtp_transactions_++;
  for (RecordSink* sink : collector_->sinks_) sink->write_smtp(record);
}

void Collector::Port::anomaly(AnomalyRecord anomaly) {
  if (anomaly.connection_id != 0) anomaly.connection_id = run_id(anomaly.connection_id);
  for (RecordSink* sink : collector_->sinks_) sink->write_anomaly(anomaly);
}

void Collector::Port::collected() {
  collector_->emit_detections();
}

void Collector::Port::session_end(const SmtpContext& context, SmtpSessionRecord record,
                                  Timestamp end_time) {
  SmtpContext mapped = run_context(context);
  record.connection_id = mapped.connection_id;
  for (RecordSink* sink : collector_->sinks_) sink->write_session(record);
  collector_->detector_.on_session_end(mapped, record.summary, end_time);
  collector_->emit_detections();
}

void Collector::Port::connection_end(Connection& connection) {
  auto found = ids_.find(connection.id);
  if (found != ids_.end()) {
    connection.id = found->second;
    ids_.erase(found);
  }
  Collector& collector = *collector_;
  if (collector.blocklists_pending_.load(std::memory_order_acquire)) {
    collector.take_pending_blocklists();
  }
  collector.blocklist_events_.clear();
  if (collector.blocklist_detector_.check(connection, &collector.blocklist_events_) > 0) {
    for (const auto& event : collector.blocklist_events_) collector.emit_event(event);
  }
  for (RecordSink* sink : collector.sinks_) sink->write_connection(connection);
}

}  // namespace spamtap
