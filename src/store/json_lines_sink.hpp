// JsonLinesSink: every record as one JSON object per line, with a "type" field
// ("conn", "smtp", "event", "anomaly", "run") and stable field names, for pipelines.
// Wire-derived strings are made valid UTF-8 and JSON-escaped.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "store/records.hpp"

namespace spamtap {

class JsonLinesSink : public RecordSink {
 public:
  // "-" writes to standard output.
  static std::unique_ptr<JsonLinesSink> open(const std::string& path, std::string* error);
  ~JsonLinesSink() override;

  void write_connection(const Connection& connection) override;
  void write_smtp(const SmtpRecord& record) override;
  void write_exchange(const SmtpExchangeRecord& record) override;
  void write_session(const SmtpSessionRecord& record) override;
  void write_event(const Event& event) override;
  void write_anomaly(const AnomalyRecord& anomaly) override;
  void write_software(const SoftwareRecord& software) override;
  void write_asset_member(const AssetMemberRecord& member) override;
  void write_run(const RunRecord& run) override;
  void flush() override;

  bool failed() const { return failed_; }

 private:
  JsonLinesSink() = default;
  void emit(const nlohmann::json& object);

  FILE* file_ = nullptr;
  bool owns_file_ = false;
  bool failed_ = false;
};

// Shared by the JSON sink and the reports: the JSON form of each record.
nlohmann::json to_json(const Connection& connection);
nlohmann::json to_json(const SmtpRecord& record);
nlohmann::json to_json(const Event& event);

}  // namespace spamtap
