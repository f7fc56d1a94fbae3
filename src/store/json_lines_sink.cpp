#include "store/json_lines_sink.hpp"

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/text.hpp"
#include "detect/catalog.hpp"

namespace spamtap {

namespace {

nlohmann::json reply_json(const smtp::Reply& reply) {
  if (reply.code == 0) return nullptr;
  return {{"code", reply.code},
          {"enhanced_status", to_valid_utf8(reply.enhanced_status)},
          {"text", to_valid_utf8(reply.text)}};
}

}  // namespace

nlohmann::json to_json(const Connection& c) {
  return {
      {"type", "conn"},
      {"id", c.id},
      {"start", format_iso8601(c.first_time, 9)},
      {"end", format_iso8601(c.last_time, 9)},
      {"protocol", c.key.protocol},
      {"orig_addr", c.key.originator.to_string()},
      {"orig_port", c.key.originator_port},
      {"resp_addr", c.key.responder.to_string()},
      {"resp_port", c.key.responder_port},
      {"orig_local", c.originator_local},
      {"resp_local", c.responder_local},
      {"orig_packets", c.originator.packets},
      {"orig_ip_bytes", c.originator.ip_bytes},
      {"orig_payload_bytes", c.originator.payload_bytes},
      {"resp_packets", c.responder.packets},
      {"resp_ip_bytes", c.responder.ip_bytes},
      {"resp_payload_bytes", c.responder.payload_bytes},
      {"state", connection_state(c)},
      {"handshake", c.handshake_completed()},
      {"ended_by", to_string(c.end)},
      {"role_rule", to_string(c.role_rule)},
      {"service", c.smtp ? nlohmann::json("smtp") : nlohmann::json(nullptr)},
      {"missed_bytes", c.missed_bytes},
  };
}

nlohmann::json to_json(const SmtpRecord& r) {
  const smtp::Transaction& t = r.transaction;
  nlohmann::json recipients = nlohmann::json::array();
  for (const auto& recipient : t.recipients) {
    recipients.push_back(
        {{"address", to_valid_utf8(recipient.address)}, {"reply", reply_json(recipient.reply)}});
  }
  return {
      {"type", "smtp"},
      {"connection_id", r.connection_id},
      {"time", format_iso8601(t.time, 9)},
      {"client", r.client.to_string()},
      {"server", r.server.to_string()},
      {"server_port", r.server_port},
      {"helo", to_valid_utf8(t.helo)},
      {"mail_from", to_valid_utf8(t.mail_from)},
      {"mail_reply", reply_json(t.mail_reply)},
      {"recipients", recipients},
      {"recipients_accepted", t.accepted_recipients()},
      {"recipients_refused", t.refused_recipients()},
      {"data_reply", reply_json(t.data_reply)},
      {"end_of_data_reply", reply_json(t.end_of_data_reply)},
      {"message_bytes", t.message_bytes},
      {"x_mailer", to_valid_utf8(t.x_mailer)},
      {"user_agent", to_valid_utf8(t.user_agent)},
      {"message_id", to_valid_utf8(t.message_id)},
      {"date", to_valid_utf8(t.date)},
      {"subject", to_valid_utf8(t.subject)},
  };
}

nlohmann::json to_json(const Event& e) {
  const RuleInfo* rule = find_rule(e.rule);
  return {
      {"type", "event"},
      {"time", format_iso8601(e.time, 9)},
      {"host", e.host.to_string()},
      {"peer", e.peer.to_string()},
      {"peer_port", e.peer_port},
      {"rule", e.rule},
      {"rule_name", rule ? std::string(rule->name) : std::string("unknown")},
      {"severity", to_string(e.severity)},
      {"connection_id", e.connection_id},
      {"summary", to_valid_utf8(e.summary)},
      {"evidence", to_valid_utf8(e.evidence)},
  };
}

std::unique_ptr<JsonLinesSink> JsonLinesSink::open(const std::string& path,
                                                   std::string* error) {
  std::unique_ptr<JsonLinesSink> sink(new JsonLinesSink());
  if (path == "-") {
    sink->file_ = stdout;
    return sink;
  }
  sink->file_ = fopen(path.c_str(), "w");
  if (!sink->file_) {
    *error = path + ": cannot write JSON lines: " + strerror(errno);
    return nullptr;
  }
  sink->owns_file_ = true;
  return sink;
}

JsonLinesSink::~JsonLinesSink() {
  if (owns_file_ && file_) fclose(file_);
}

void JsonLinesSink::emit(const nlohmann::json& object) {
  std::string line = object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line += '\n';
  if (fwrite(line.data(), 1, line.size(), file_) != line.size()) failed_ = true;
}

void JsonLinesSink::write_connection(const Connection& connection) {
  emit(to_json(connection));
}

void JsonLinesSink::write_smtp(const SmtpRecord& record) { emit(to_json(record)); }

void JsonLinesSink::write_event(const Event& event) { emit(to_json(event)); }

void JsonLinesSink::write_exchange(const SmtpExchangeRecord& r) {
  const smtp::Exchange& e = r.exchange;
  nlohmann::json reply = reply_json(e.reply);
  if (!reply.is_null()) reply["lines"] = e.reply.line_count;
  emit({{"type", "smtp_cmd"},
        {"connection_id", r.connection_id},
        {"time", format_iso8601(e.time, 9)},
        {"client", r.client.to_string()},
        {"server", r.server.to_string()},
        {"verb", to_valid_utf8(e.verb)},
        {"argument", to_valid_utf8(e.argument)},
        {"reply", reply}});
}

void JsonLinesSink::write_session(const SmtpSessionRecord& r) {
  const smtp::SessionSummary& s = r.summary;
  nlohmann::json greeting = reply_json(s.greeting);
  if (!greeting.is_null()) greeting["lines"] = s.greeting.line_count;
  nlohmann::json extensions = nlohmann::json::array();
  for (const auto& extension : s.extensions) extensions.push_back(to_valid_utf8(extension));
  emit({{"type", "smtp_session"},
        {"connection_id", r.connection_id},
        {"time", format_iso8601(r.time, 9)},
        {"client", r.client.to_string()},
        {"server", r.server.to_string()},
        {"server_port", r.server_port},
        {"greeting", greeting},
        {"helo", to_valid_utf8(s.helo)},
        {"extensions", extensions},
        {"client_spoke_first", s.client_spoke_first},
        {"pipelined_without_extension", s.pipelined_without_extension},
        {"starttls", s.starttls},
        {"quit_sent", s.quit_sent},
        {"auth_mechanism", to_valid_utf8(s.auth_mechanism)},
        {"auth_result_code", s.auth_result_code},
        {"gap_bytes_client", s.gap_bytes_client},
        {"gap_bytes_server", s.gap_bytes_server},
        {"transactions", r.transactions}});
}

void JsonLinesSink::write_anomaly(const AnomalyRecord& a) {
  emit({{"type", "anomaly"},
        {"time", format_iso8601(a.time, 9)},
        {"connection_id", a.connection_id},
        {"name", a.name},
        {"detail", to_valid_utf8(a.detail)}});
}

void JsonLinesSink::write_software(const SoftwareRecord& r) {
  emit({{"type", "software"},
        {"time", format_iso8601(r.time, 9)},
        {"host", r.host.to_string()},
        {"port", r.port},
        {"role", r.role},
        {"kind", r.kind},
        {"name", to_valid_utf8(r.name)},
        {"connection_id", r.connection_id}});
}

void JsonLinesSink::write_asset_member(const AssetMemberRecord& m) {
  emit({{"type", "asset_member"},
        {"list", to_valid_utf8(m.list)},
        {"host", m.host.to_string()},
        {"joined", format_iso8601(m.joined, 9)},
        {"reason", to_valid_utf8(m.reason)}});
}

void JsonLinesSink::write_run(const RunRecord& run) {
  emit({{"type", "run"},
        {"first_packet", format_iso8601(run.first_packet, 9)},
        {"last_packet", format_iso8601(run.last_packet, 9)},
        {"inputs", run.inputs},
        {"counters", run.counters}});
}

void JsonLinesSink::flush() {
  if (fflush(file_) != 0) failed_ = true;
}

}  // namespace spamtap
