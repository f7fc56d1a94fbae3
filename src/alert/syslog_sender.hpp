// SyslogSender: delivers finished messages to one target from a thread of its own, so
// that the analysis never waits for the network. Messages enter a bounded queue; when
// it is full the newest is dropped and counted. UDP sends one datagram per message;
// TCP frames each message with RFC 6587 octet counting, connects without blocking,
// and reconnects with exponential backoff after a failure, sending the interrupted
// message again on the new connection.
//
// LIMITATION: TCP syslog has no acknowledgements. A message written just before the
// receiver dies can be lost without an error; a receiver that closed the connection
// cleanly beforehand is detected before the next write, so that case loses nothing.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "alert/syslog_target.hpp"

namespace spamtap::alert {

struct SenderSettings {
  size_t queue_capacity = 4096;  // messages waiting per target
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds reconnect_initial{100};  // first wait after a failure
  std::chrono::milliseconds reconnect_max{5000};     // the wait doubles up to this
};

struct SenderCounters {
  uint64_t queued = 0;            // accepted into the queue
  uint64_t sent = 0;              // handed to the kernel whole
  uint64_t dropped_queue_full = 0;
  uint64_t dropped_send_error = 0;  // UDP datagrams the kernel refused
  uint64_t dropped_at_close = 0;    // still waiting when close() gave up
  uint64_t connects = 0;            // TCP connections established
  uint64_t reconnects = 0;          // of those, after the first
  uint64_t errors = 0;              // failed connects, sends and lost connections

  uint64_t dropped() const { return dropped_queue_full + dropped_send_error + dropped_at_close; }
};

class SyslogSender {
 public:
  SyslogSender(SyslogTarget target, ResolvedAddress address, SenderSettings settings);
  ~SyslogSender();
  SyslogSender(const SyslogSender&) = delete;
  SyslogSender& operator=(const SyslogSender&) = delete;

  // Never blocks on the network. Returns false when the message was dropped.
  bool enqueue(std::string message);
  // Waits until everything queued so far has been sent; false on timeout.
  bool wait_idle(std::chrono::milliseconds timeout);
  // Waits up to `timeout` for the queue to drain, then stops the thread; what is left
  // is counted as dropped. Later enqueues are dropped.
  void close(std::chrono::milliseconds timeout);

  SenderCounters counters() const;
  std::string last_error() const;
  const SyslogTarget& target() const { return target_; }
  const ResolvedAddress& address() const { return address_; }

 private:
  void run();
  bool deliver(const std::string& message);
  bool deliver_udp(const std::string& message);
  bool deliver_tcp(const std::string& message);
  bool connect_tcp();
  bool wait_writable(std::chrono::milliseconds timeout);
  bool peer_closed();
  void disconnect();
  void note_error(std::string message);
  // Sleeps for the current backoff, or less when stopping; doubles the backoff.
  void back_off();

  const SyslogTarget target_;
  const ResolvedAddress address_;
  const SenderSettings settings_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;  // work arrived, or stop
  std::condition_variable idle_;  // queue drained
  std::deque<std::string> queue_;
  bool in_flight_ = false;
  bool closing_ = false;  // no more enqueues
  std::atomic<bool> abort_{false};  // the thread gives up whatever it is doing
  SenderCounters counters_;
  std::string last_error_;

  // Used by the sender thread only.
  int socket_ = -1;
  std::chrono::milliseconds backoff_;
  std::thread thread_;
};

}  // namespace spamtap::alert
