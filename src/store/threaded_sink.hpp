// ThreadedSink: puts another sink behind a writer thread, so that the analysis never
// waits for the store while there is room in the queue. Records are copied into
// batches on the caller's thread; a whole batch is handed to the writer at once (when it
// is full, or on flush), and the writer calls the wrapped sink with every record in the
// order the records arrived. At most `max_batches_in_flight` batches wait or are being
// written; beyond that the caller blocks until the writer catches up, so nothing is ever
// dropped, and the waits are counted.
//
// The wrapped sink is not owned: it must outlive the ThreadedSink, nobody else may call
// it, and its state (error counts, say) may be read only after flush() has returned:
// flush is the point where everything written before it has reached the wrapped sink.
//
// One thread at a time writes to a ThreadedSink, as with every RecordSink; counters()
// may be read from any thread. Memory held is bounded by the limits: with the defaults,
// up to 64 x 1024 records of about 600 bytes each (40 MB), plus the strings they hold.
//
// LIMITATION: a full queue blocks the caller, which is right for reading files but not for
// live capture, where the packets would be lost instead; dropping and counting records
// when the queue is full is not implemented.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "store/records.hpp"

namespace spamtap {

struct ThreadedSinkOptions {
  size_t batch_records = 1024;
  size_t max_batches_in_flight = 64;
};

struct ThreadedSinkCounters {
  uint64_t records = 0;  // handed to the writer thread
  uint64_t batches = 0;
  // Hand-overs that found the queue full and waited for the writer, and how long in all.
  uint64_t producer_waits = 0;
  uint64_t producer_wait_nanoseconds = 0;
  // Exceptions thrown by the wrapped sink. The writer counts them and goes on with the
  // next record, so one bad record cannot stop the store or hang flush().
  uint64_t inner_failures = 0;
};

class ThreadedSink : public RecordSink {
 public:
  explicit ThreadedSink(RecordSink& inner, ThreadedSinkOptions options = {});
  // Flushes (so the wrapped sink sees every record and one last flush) and joins.
  ~ThreadedSink() override;
  ThreadedSink(const ThreadedSink&) = delete;
  ThreadedSink& operator=(const ThreadedSink&) = delete;

  // The connection is copied without its extension and flow-table links, which belong to
  // the flow table and do not outlive this call.
  void write_connection(const Connection& connection) override;
  void write_smtp(const SmtpRecord& record) override;
  void write_exchange(const SmtpExchangeRecord& record) override;
  void write_session(const SmtpSessionRecord& record) override;
  void write_event(const Event& event) override;
  void write_anomaly(const AnomalyRecord& anomaly) override;
  void write_software(const SoftwareRecord& software) override;
  void write_asset_member(const AssetMemberRecord& member) override;
  void write_run(const RunRecord& run) override;
  // Returns once the wrapped sink has been given every record written before and its own
  // flush() has returned.
  void flush() override;

  ThreadedSinkCounters counters() const;
  // What the first exception from the wrapped sink said; empty when there was none.
  std::string first_failure() const;

 private:
  using Record = std::variant<Connection, SmtpRecord, SmtpExchangeRecord, SmtpSessionRecord, Event,
                              AnomalyRecord, SoftwareRecord, AssetMemberRecord, RunRecord>;
  struct Batch {
    std::vector<Record> records;
    bool flush = false;  // call the wrapped sink's flush() after the records
  };

  void add(Record record);
  // Returns the number of the flush this batch carries, 0 when it carries none.
  uint64_t hand_over(bool flush);
  void run_writer();
  // Writes one batch to the wrapped sink; returns how many calls threw, and what the first
  // one said in `failure`.
  uint64_t write_batch(const Batch& batch, std::string* failure);

  RecordSink& inner_;
  const ThreadedSinkOptions options_;
  Batch current_;  // the caller's batch, not yet handed over

  mutable std::mutex mutex_;
  std::condition_variable batch_ready_;      // the writer waits on it for work
  std::condition_variable writer_progress_;  // the caller waits on it for room or a flush
  std::deque<Batch> queue_;
  size_t in_flight_ = 0;  // queued plus the one being written
  uint64_t flushes_requested_ = 0;
  uint64_t flushes_completed_ = 0;
  bool stopping_ = false;
  ThreadedSinkCounters counters_;
  std::string first_failure_;

  std::thread writer_;  // started by the constructor, once every member above exists
};

}  // namespace spamtap
