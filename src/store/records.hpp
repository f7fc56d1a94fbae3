// The records the analysis writes, and the sink interface every store implements.
// Connections come straight from the flow table; SMTP transactions and anomalies
// carry the connection they belong to; events come from detection.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/address.hpp"
#include "detect/event.hpp"
#include "flow/connection.hpp"
#include "smtp/model.hpp"

namespace spamtap {

struct SmtpRecord {
  uint64_t connection_id = 0;
  IpAddress client;
  IpAddress server;
  uint16_t server_port = 0;
  smtp::Transaction transaction;
};

// One client command with the reply that answered it.
struct SmtpExchangeRecord {
  uint64_t connection_id = 0;
  IpAddress client;
  IpAddress server;
  smtp::Exchange exchange;
};

// The whole SMTP conversation of one connection, written when it ends.
struct SmtpSessionRecord {
  uint64_t connection_id = 0;
  Timestamp time = 0;
  IpAddress client;
  IpAddress server;
  uint16_t server_port = 0;
  smtp::SessionSummary summary;
  uint64_t transactions = 0;
};

struct AnomalyRecord {
  Timestamp time = 0;
  uint64_t connection_id = 0;  // 0 when not tied to a connection
  std::string name;
  std::string detail;
};

// A host joining a named asset list, with when and why.
struct AssetMemberRecord {
  std::string list;
  IpAddress host;
  Timestamp joined = 0;
  std::string reason;  // e.g. "event 4122 relaying denied", "static list", "in 10.0.0.0/8"
};

// One analysis run: what went in, and the counters worth keeping.
struct RunRecord {
  Timestamp started = 0;   // wall clock, for the operator
  Timestamp first_packet = 0;
  Timestamp last_packet = 0;
  std::vector<std::string> inputs;
  std::map<std::string, uint64_t> counters;  // packets, connections, drops, errors ...
};

class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual void write_connection(const Connection& connection) = 0;
  virtual void write_smtp(const SmtpRecord& record) = 0;
  virtual void write_exchange(const SmtpExchangeRecord& record) = 0;
  virtual void write_session(const SmtpSessionRecord& record) = 0;
  virtual void write_event(const Event& event) = 0;
  virtual void write_anomaly(const AnomalyRecord& anomaly) = 0;
  // Record 20: software seen on a host. Sinks without a place for it ignore it.
  virtual void write_software(const SoftwareRecord&) {}
  // A host joined an asset list. Sinks without a place for it ignore it.
  virtual void write_asset_member(const AssetMemberRecord&) {}
  virtual void write_run(const RunRecord& run) = 0;
  // Makes everything written so far durable.
  virtual void flush() = 0;
};

}  // namespace spamtap
