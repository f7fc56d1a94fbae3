// What the SMTP analyzer reports: replies, commands and mail transactions. These are
// plain values handed to detection and to the store; every string in them came off
// the wire, is bounded in length and must be escaped wherever it is written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/time.hpp"

namespace spamtap::smtp {

// One complete server reply (all lines of a multi-line reply).
struct Reply {
  Timestamp time = 0;
  int code = 0;                 // three-digit code of the final line
  std::string enhanced_status;  // "5.7.1" when the final line carries one, else empty
  std::string text;             // the lines' text after the code, joined with " | "
  int line_count = 0;           // lines the reply had (a multi-line reply has several)
};

// A client command with the reply that answered it (matched in order, which keeps
// PIPELINING right). `reply.code == 0` means the reply was never seen.
struct Exchange {
  Timestamp time = 0;
  std::string verb;      // upper-cased: "EHLO", "MAIL", "RCPT", "DATA", "BDAT", ...
  std::string argument;  // rest of the line, bounded
  Reply reply;
};

struct Recipient {
  std::string address;  // the RCPT TO argument's path, without angle brackets
  Reply reply;
};

// One mail transaction: MAIL FROM to the end of data (or to its abandonment by
// RSET, QUIT, a new MAIL, or the end of the connection).
struct Transaction {
  Timestamp time = 0;             // time of MAIL FROM
  std::string helo;               // the HELO/EHLO name in force
  std::string mail_from;
  Reply mail_reply;
  std::vector<Recipient> recipients;  // every RCPT with its own reply
  bool data_sent = false;             // DATA accepted with 354, or BDAT chunks sent
  Reply data_reply;                   // reply to DATA (354 or a refusal)
  Reply end_of_data_reply;            // reply to the final dot or the last BDAT chunk
  uint64_t message_bytes = 0;         // bytes of message content seen
  std::string x_mailer;
  std::string user_agent;
  std::string message_id;
  std::string date;
  std::string subject;
  // BDAT: chunks sent. data_reply then holds the first refused chunk's reply, or the
  // first chunk's reply when none was refused.
  uint32_t bdat_chunks = 0;
  // RCPTs past Limits::max_recipients are counted here, with their outcomes, not kept.
  uint32_t unkept_recipients = 0;
  uint32_t unkept_accepted = 0;
  uint32_t unkept_refused = 0;

  int accepted_recipients() const;  // RCPTs answered 2xx (kept and unkept)
  int refused_recipients() const;   // RCPTs answered 4xx or 5xx (kept and unkept)
};

// Protocol oddities, named and counted (never fatal).
struct Anomaly {
  Timestamp time = 0;
  std::string name;    // stable snake_case name, e.g. "bare_lf_before_dot"
  std::string detail;  // bounded, wire-derived
};

// Facts about the whole SMTP session.
struct SessionSummary {
  Reply greeting;                 // the 220 (or refusal) that opened the session
  std::string helo;               // first HELO/EHLO argument
  std::vector<std::string> extensions;  // EHLO reply keywords, upper-cased
  bool client_spoke_first = false;      // bytes from the client before any greeting
  bool pipelined_without_extension = false;
  bool starttls = false;                // STARTTLS accepted; parsing stopped there
  bool quit_sent = false;
  std::string auth_mechanism;
  int auth_result_code = 0;
  uint64_t gap_bytes_client = 0;
  uint64_t gap_bytes_server = 0;
  // Exchanges, transactions and anomalies dropped because the caller did not take them
  // before Limits::max_queued_results piled up.
  uint64_t results_dropped = 0;
};

}  // namespace spamtap::smtp
