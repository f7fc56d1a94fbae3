// SMTP sessions as byte streams: a plan says who greets how, what the client
// announces, which recipients get which replies and how the session ends; the
// script turns it into a protocol-correct exchange on a TCP conversation and
// tallies every reply code it wrote.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/time.hpp"
#include "synth/conversation.hpp"

namespace spamtap::synth {

struct SmtpRecipient {
  std::string address;
  std::string reply;  // full reply line without CRLF, e.g. "250 2.1.5 Ok"
};

struct SmtpPlan {
  std::string server_name;
  std::string server_software = "ESMTP Postfix";
  std::string refusal_greeting;  // when set, the server greets with this 5xx line
  bool advertise_pipelining = true;
  bool submission = false;  // port 587: AUTH offered and used

  std::string helo_name;
  bool use_ehlo = true;
  bool pipeline = false;   // client batches MAIL, RCPT and DATA
  bool quit = true;        // otherwise the client drops the connection
  std::string auth_plain;  // base64 of "\0user\0password" when submission

  std::string mail_from;
  std::vector<SmtpRecipient> recipients;
  std::string message;  // headers and body, CRLF lines, not yet dot-stuffed
  std::string queue_id;
};

struct SmtpTally {
  std::map<int, uint64_t> reply_codes;
  uint64_t sessions = 0;
  uint64_t recipients = 0;
  uint64_t messages = 0;
};

// Runs the plan on a fresh builder (handshake included); `tallies` are all
// updated.
void run_smtp_session(TcpConversationBuilder &builder, Random &random, const SmtpPlan &plan,
                      const std::vector<SmtpTally *> &tallies);

// Base64 of arbitrary bytes, for AUTH PLAIN.
std::string base64(std::string_view bytes);

}  // namespace spamtap::synth
