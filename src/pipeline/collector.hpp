// Collector: the run-wide half of the analysis. It hears what the shards learned, in
// input order, gives every connection its run-wide id, runs spam detection and the
// blocklist check (both need to see all of a host's connections, whichever shard had
// them), and writes every record to the sinks.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "detect/blocklist_detector.hpp"
#include "detect/spam_detector.hpp"
#include "pipeline/shard.hpp"
#include "store/records.hpp"

namespace spamtap {

class Collector {
 public:
  Collector(DetectionSettings detection, std::shared_ptr<const intel::BlocklistSet> blocklists,
            std::vector<RecordSink*> sinks);

  // What one shard says, with its ids mapped to run-wide ones. A port is used from one
  // thread at a time, the same for all ports of a collector.
  class Port : public ShardOutput {
   public:
    explicit Port(Collector* collector) : collector_(collector) {}
    void connection_started(uint64_t id) override;
    void greeting(const SmtpContext& context, const smtp::Reply& reply) override;
    void exchange(const SmtpContext& context, smtp::Exchange exchange) override;
    void transaction(const SmtpContext& context, smtp::Transaction transaction) override;
    void anomaly(AnomalyRecord anomaly) override;
    void collected() override;
    void session_end(const SmtpContext& context, SmtpSessionRecord record,
                     Timestamp end_time) override;
    void connection_end(Connection& connection) override;

   private:
    uint64_t run_id(uint64_t shard_id) const;
    SmtpContext run_context(const SmtpContext& context) const;

    Collector* collector_;
    std::unordered_map<uint64_t, uint64_t> ids_;  // shard id -> run id, open connections
  };

  // Thread-safe: the new set is taken up before the next connection is checked.
  void set_blocklists(std::shared_ptr<const intel::BlocklistSet> blocklists);

  uint64_t connections() const { return next_id_ - 1; }
  uint64_t events_written() const { return events_written_; }
  uint64_t smtp_transactions() const { return smtp_transactions_; }
  const BlocklistDetector& blocklist_detector() const { return blocklist_detector_; }
  bool has_blocklists() const { return blocklist_detector_.blocklists() != nullptr; }

 private:
  void emit_event(const Event& event);
  void emit_detections();
  void take_pending_blocklists();

  std::vector<RecordSink*> sinks_;
  SpamDetector detector_;
  BlocklistDetector blocklist_detector_;
  std::vector<Event> blocklist_events_;  // reused for every connection
  uint64_t next_id_ = 1;
  uint64_t events_written_ = 0;
  uint64_t smtp_transactions_ = 0;

  std::mutex pending_mutex_;
  std::shared_ptr<const intel::BlocklistSet> pending_blocklists_;
  std::atomic<bool> blocklists_pending_{false};
};

}  // namespace spamtap
