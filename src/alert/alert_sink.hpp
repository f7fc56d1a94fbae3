// AlertSink: the record sink that sends every event as syslog to each target, and
// ignores every other record. write_event() formats the message for each target and
// hands it to that target's sender queue; it never waits for the network. Repeated
// alerts for one (host, rule) are rate-limited before anything is formatted.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "alert/rate_limiter.hpp"
#include "alert/syslog_format.hpp"
#include "alert/syslog_sender.hpp"
#include "alert/syslog_target.hpp"
#include "store/records.hpp"

namespace spamtap::alert {

struct AlertOptions {
  Origin origin;  // empty hostname: this machine's name and this process's id
  RateLimit rate_limit;
  SenderSettings sender;
  std::chrono::milliseconds flush_timeout{5000};  // flush() and close() wait at most this
};

struct AlertCounters {
  uint64_t events = 0;       // events written to the sink
  uint64_t suppressed = 0;   // held back by the rate limit
  uint64_t truncated = 0;    // messages cut to a target's size limit
  SenderCounters delivery;   // summed over the targets
};

class AlertSink : public RecordSink {
 public:
  // Parses and resolves every target and starts one sender per target. On error
  // returns nullptr and one message that names the bad target and the bad part.
  static std::unique_ptr<AlertSink> create(const std::vector<std::string>& targets,
                                           const AlertOptions& options, std::string* error);
  // The same with targets already parsed (from a config file, say).
  static std::unique_ptr<AlertSink> create_for_targets(const std::vector<SyslogTarget>& targets,
                                                       const AlertOptions& options,
                                                       std::string* error);
  ~AlertSink() override;

  void write_event(const Event& event) override;
  void write_connection(const Connection&) override {}
  void write_smtp(const SmtpRecord&) override {}
  void write_exchange(const SmtpExchangeRecord&) override {}
  void write_session(const SmtpSessionRecord&) override {}
  void write_anomaly(const AnomalyRecord&) override {}
  void write_run(const RunRecord&) override {}
  // Waits, at most flush_timeout in all, for the queues to drain.
  void flush() override;
  // flush(), then stops the senders; what is still queued is counted as dropped.
  // Idempotent; the destructor calls it.
  void close();

  AlertCounters counters() const;
  // The counters under stable names ("syslog_sent", "syslog_dropped", ...), for a
  // RunRecord or a report.
  std::map<std::string, uint64_t> counter_map() const;
  // One line for the operator: "syslog: 12 events, 24 sent, 0 dropped, ...".
  std::string summary() const;
  // Every target with its own counters and last error, one line each.
  std::vector<std::string> target_reports() const;

  size_t target_count() const { return senders_.size(); }
  const SyslogSender& sender(size_t index) const { return *senders_[index]; }

 private:
  AlertSink(const AlertOptions& options);

  AlertOptions options_;
  std::vector<std::unique_ptr<SyslogSender>> senders_;
  std::vector<MessageSettings> settings_;

  mutable std::mutex mutex_;  // guards the limiter and the counters below
  RateLimiter limiter_;
  uint64_t events_ = 0;
  uint64_t truncated_ = 0;
  bool closed_ = false;
};

}  // namespace spamtap::alert
