// Shard: the per-connection half of the analysis. It owns a flow table and, for every
// conversation that looks like SMTP, the reassembly of both directions and the SMTP
// analyzer. What it learns leaves through a ShardOutput as it happens: a connection
// began, an SMTP greeting, exchange, transaction or anomaly, a session or a connection
// ended. Detection and the stores sit behind that interface (see Collector), so one
// shard can feed them directly, or several shards, each in its own thread with its own
// share of the connections, can feed them through a merge that restores input order.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "detect/spam_detector.hpp"
#include "flow/flow_table.hpp"
#include "reassembly/stream.hpp"
#include "smtp/session.hpp"
#include "store/records.hpp"

namespace spamtap {

// Ids in what a shard emits are the shard's own connection ids; the receiver maps them
// to run-wide ids at `connection_started`.
class ShardOutput {
 public:
  virtual ~ShardOutput() = default;
  virtual void connection_started(uint64_t id) = 0;
  virtual void greeting(const SmtpContext& context, const smtp::Reply& reply) = 0;
  virtual void exchange(const SmtpContext& context, smtp::Exchange exchange) = 0;
  virtual void transaction(const SmtpContext& context, smtp::Transaction transaction) = 0;
  virtual void anomaly(AnomalyRecord anomaly) = 0;
  // The end of one batch of SMTP news from a connection: detection may speak now.
  virtual void collected() = 0;
  virtual void session_end(const SmtpContext& context, SmtpSessionRecord record,
                           Timestamp end_time) = 0;
  // `connection` may be modified (its id is rewritten) and is gone after the call.
  virtual void connection_end(Connection& connection) = 0;
};

struct ShardSettings {
  HomeNetworks home;
  FlowLimits flow;
  StreamLimits stream;
  smtp::Limits smtp;
  size_t max_reassembly_bytes = 256 * 1024 * 1024;  // held out of order, all streams
};

class Shard : public ConnectionObserver {
 public:
  Shard(const ShardSettings& settings, ShardOutput* output);
  ~Shard() override;
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // `sequence` is the packet's position in the whole input.
  void process(const Packet& packet, uint64_t sequence) { flows_.process(packet, sequence); }
  void advance(Timestamp now) { flows_.advance(now); }
  void finish() { flows_.finish(); }

  const FlowCounters& flow_counters() const { return flows_.counters(); }
  // reassembly_*, smtp_anomalies, smtp_sessions, ...: summed over shards at the end.
  const std::map<std::string, uint64_t>& counters() const { return counters_; }
  size_t open_connections() const { return flows_.active(); }

  void on_packet(Connection& connection, const Packet& packet, bool from_originator) override;
  void on_connection_start(Connection& connection) override;
  void on_connection_end(Connection& connection) override;

 private:
  class SmtpAnalysis;
  bool greets_as_originator(const Connection& connection, const Packet& packet,
                            bool from_originator) const;
  bool should_analyze_smtp(const Connection& connection, const Packet& packet,
                           bool from_originator) const;
  void collect(Connection& connection, SmtpAnalysis& analysis);
  static SmtpContext smtp_context(const Connection& connection);

  ShardSettings settings_;
  ShardOutput* output_;
  FlowTable flows_;
  std::map<std::string, uint64_t> counters_;
  size_t reassembly_held_ = 0;  // out-of-order bytes held by all SMTP streams
};

}  // namespace spamtap
