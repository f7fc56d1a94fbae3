#include "store/threaded_sink.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>

namespace spamtap {
namespace {

// Hands one record to the method of the wrapped sink that takes its kind.
struct WriteTo {
  RecordSink& sink;
  void operator()(const Connection& record) const { sink.write_connection(record); }
  void operator()(const SmtpRecord& record) const { sink.write_smtp(record); }
  void operator()(const SmtpExchangeRecord& record) const { sink.write_exchange(record); }
  void operator()(const SmtpSessionRecord& record) const { sink.write_session(record); }
  void operator()(const Event& record) const { sink.write_event(record); }
  void operator()(const AnomalyRecord& record) const { sink.write_anomaly(record); }
  void operator()(const SoftwareRecord& record) const { sink.write_software(record); }
  void operator()(const AssetMemberRecord& record) const { sink.write_asset_member(record); }
  void operator()(const RunRecord& record) const { sink.write_run(record); }
};

}  // namespace

ThreadedSink::ThreadedSink(RecordSink& inner, ThreadedSinkOptions options)
    : inner_(inner),
      // A limit of zero batches would block the first hand-over forever.
      options_{std::max<size_t>(options.batch_records, 1),
               std::max<size_t>(options.max_batches_in_flight, 1)} {
  writer_ = std::thread(&ThreadedSink::run_writer, this);
}

ThreadedSink::~ThreadedSink() {
  ThreadedSink::flush();

  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  batch_ready_.notify_one();
  writer_.join();
}

void ThreadedSink::write_connection(const Connection& connection) {
  add(connection.snapshot());
}
void ThreadedSink::write_smtp(const SmtpRecord& record) {
  add(record);
}
void ThreadedSink::write_exchange(const SmtpExchangeRecord& record) {
  add(record);
}
void ThreadedSink::write_session(const SmtpSessionRecord& record) {
  add(record);
}
void ThreadedSink::write_event(const Event& event) {
  add(event);
}
void ThreadedSink::write_anomaly(const AnomalyRecord& anomaly) {
  add(anomaly);
}
void ThreadedSink::write_software(const SoftwareRecord& software) {
  add(software);
}
void ThreadedSink::write_asset_member(const AssetMemberRecord& member) {
  add(member);
}
void ThreadedSink::write_run(const RunRecord& run) {
  add(run);
}

void ThreadedSink::flush() {
  uint64_t flush_number = hand_over(true);

  std::unique_lock lock(mutex_);
  writer_progress_.wait(lock, [&] { return flushes_completed_ >= flush_number; });
}

ThreadedSinkCounters ThreadedSink::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

std::string ThreadedSink::first_failure() const {
  std::lock_guard lock(mutex_);
  return first_failure_;
}

void ThreadedSink::add(Record record) {
  // A handed-over batch leaves an empty vector behind; growing it one record at a time
  // would move every record several times.
  if (current_.records.capacity() == 0) current_.records.reserve(options_.batch_records);
  current_.records.push_back(std::move(record));
  if (current_.records.size() >= options_.batch_records) hand_over(false);
}

uint64_t ThreadedSink::hand_over(bool flush) {
  Batch batch = std::move(current_);
  current_ = Batch{};
  batch.flush = flush;

  std::unique_lock lock(mutex_);
  if (in_flight_ >= options_.max_batches_in_flight) {
    counters_.producer_waits++;
    auto started = std::chrono::steady_clock::now();
    writer_progress_.wait(lock, [this] { return in_flight_ < options_.max_batches_in_flight; });
    counters_.producer_wait_nanoseconds += std::chrono::duration_cast<std::chrono::nanoseconds>(
                                               std::chrono::steady_clock::now() - started)
                                               .count();
  }
  in_flight_++;
  counters_.batches++;
  counters_.records += batch.records.size();
  uint64_t flush_number = flush ? ++flushes_requested_ : 0;
  queue_.push_back(std::move(batch));
  lock.unlock();

  batch_ready_.notify_one();
  return flush_number;
}

void ThreadedSink::run_writer() {
  std::unique_lock lock(mutex_);
  while (true) {
    batch_ready_.wait(lock, [this] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) return;  // stopping, and everything handed over is written
    Batch batch = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();

    std::string failure;
    uint64_t failures = write_batch(batch, &failure);
    bool flushed = batch.flush;
    // Freed outside the lock, so that the caller is not held up by it.
    batch = Batch{};

    lock.lock();
    in_flight_--;
    if (flushed) flushes_completed_++;
    counters_.inner_failures += failures;
    if (first_failure_.empty()) first_failure_ = std::move(failure);
    writer_progress_.notify_all();
  }
}

uint64_t ThreadedSink::write_batch(const Batch& batch, std::string* failure) {
  uint64_t failures = 0;
  auto attempt = [&](auto&& call) {
    try {
      call();
    } catch (const std::exception& error) {
      if (failures++ == 0) *failure = error.what();
    } catch (...) {
      if (failures++ == 0) *failure = "an exception that is not a std::exception";
    }
  };

  for (const Record& record : batch.records) {
    attempt([&] { std::visit(WriteTo{inner_}, record); });
  }
  if (batch.flush) attempt([&] { inner_.flush(); });
  return failures;
}

}  // namespace spamtap
