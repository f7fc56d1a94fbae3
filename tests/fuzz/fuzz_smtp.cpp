// libFuzzer target for the SMTP analyzer. The input is a list of records: a control byte
// (low two bits: client bytes, server bytes, client gap, server gap; the rest: length)
// followed by that many bytes. The records are fed to one session whole and to a second
// one byte by byte; both must report the same, and everything they report must respect
// the limits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "smtp/session.hpp"

namespace {

using spamtap::smtp::Limits;
using spamtap::smtp::Reply;
using spamtap::smtp::SmtpSession;

struct Record {
  int kind;
  std::span<const uint8_t> bytes;
};

struct Collected {
  std::string rendering;
};

void check(bool condition) {
  if (!condition) std::abort();
}

void check_reply(const Reply& reply, const Limits& limits, std::string& out) {
  check(reply.text.size() <= limits.max_text);
  check(reply.enhanced_status.size() <= 11);
  out += std::to_string(reply.code) + reply.enhanced_status + "'" + reply.text + "'" +
         std::to_string(reply.line_count) + ";";
}

void check_text(const std::string& text, size_t max, std::string& out) {
  check(text.size() <= max);
  out += text + "|";
}

void collect(SmtpSession& session, const Limits& limits, std::string& out) {
  auto transactions = session.take_transactions();
  auto exchanges = session.take_exchanges();
  auto anomalies = session.take_anomalies();
  check(transactions.size() <= limits.max_queued_results);
  check(exchanges.size() <= limits.max_queued_results);
  check(anomalies.size() <= limits.max_queued_results);

  for (const auto& exchange : exchanges) {
    check_text(exchange.verb, limits.max_text, out);
    check_text(exchange.argument, limits.max_text, out);
    check_reply(exchange.reply, limits, out);
  }
  for (const auto& t : transactions) {
    check(t.recipients.size() <= limits.max_recipients);
    for (const auto* text : {&t.helo, &t.mail_from, &t.x_mailer, &t.user_agent, &t.message_id,
                             &t.date, &t.subject}) {
      check_text(*text, limits.max_text, out);
    }
    for (const auto& recipient : t.recipients) {
      check_text(recipient.address, limits.max_text, out);
      check_reply(recipient.reply, limits, out);
    }
    check_reply(t.mail_reply, limits, out);
    check_reply(t.data_reply, limits, out);
    check_reply(t.end_of_data_reply, limits, out);
    out += std::to_string(t.message_bytes) + "/" + std::to_string(t.bdat_chunks) + "/" +
           std::to_string(t.unkept_recipients) + "\n";
  }
  for (const auto& anomaly : anomalies) {
    check_text(anomaly.name, 64, out);
    check_text(anomaly.detail, limits.max_text, out);
  }
}

std::string run(const std::vector<Record>& records, const Limits& limits, bool byte_by_byte) {
  SmtpSession session(limits);
  std::string out;
  int64_t time = 0;
  for (const Record& record : records) {
    ++time;
    switch (record.kind) {
      case 0:
      case 1: {
        auto bytes = record.bytes;
        while (!bytes.empty()) {
          size_t n = byte_by_byte ? 1 : bytes.size();
          if (record.kind == 0) session.client_data(time, bytes.first(n));
          if (record.kind == 1) session.server_data(time, bytes.first(n));
          bytes = bytes.subspan(n);
        }
        break;
      }
      case 2:
        session.client_gap(time, record.bytes.size() + 1);
        break;
      case 3:
        session.server_gap(time, record.bytes.size() + 1);
        break;
    }
    collect(session, limits, out);
  }
  session.end(time + 1);
  collect(session, limits, out);

  const auto& summary = session.summary();
  check(summary.helo.size() <= limits.max_text);
  check(summary.auth_mechanism.size() <= limits.max_text);
  check(summary.extensions.size() <= 64);
  std::string summary_text;
  check_reply(summary.greeting, limits, summary_text);
  out += summary_text + summary.helo + summary.auth_mechanism +
         std::to_string(summary.auth_result_code) + std::to_string(summary.starttls) +
         std::to_string(summary.client_spoke_first) +
         std::to_string(summary.pipelined_without_extension) +
         std::to_string(summary.results_dropped) + std::to_string(session.looks_like_smtp());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Small limits so that every bound is reached with short inputs.
  Limits limits;
  limits.max_line = 48;
  limits.max_text = 40;
  limits.max_header_bytes = 128;
  limits.max_pending_commands = 6;
  limits.max_recipients = 3;
  limits.max_held_bytes = 64;
  limits.max_queued_results = 32;

  std::vector<Record> records;
  std::span<const uint8_t> input(data, size);
  while (!input.empty()) {
    uint8_t control = input[0];
    size_t length = std::min<size_t>(control >> 2, input.size() - 1);
    records.push_back({control & 3, input.subspan(1, length)});
    input = input.subspan(1 + length);
  }

  std::string whole = run(records, limits, false);
  std::string split = run(records, limits, true);
  check(whole == split);
  return 0;
}
