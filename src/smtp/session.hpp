// SmtpSession: the analyzer for one SMTP connection. Reassembly feeds it the two
// in-order byte streams (client to server and back) in capture order, tells it about
// gaps, and finally ends it. It matches every reply to the command it answers,
// follows mail transactions to the end of data, and hands out finished transactions,
// exchanges and anomalies for detection and storage.
//
//   SmtpSession session(limits);
//   session.client_data(time, bytes);   // any split of the stream is fine
//   session.server_data(time, bytes);
//   session.client_gap(time, 120);      // 120 bytes never seen
//   session.end(time);                  // flush what is open
//   for (auto& t : session.take_transactions()) ...
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "smtp/model.hpp"

namespace spamtap::smtp {

struct Limits {
  size_t max_line = 4096;             // longer lines are cut and counted
  size_t max_text = 1024;             // longest stored reply text / argument
  size_t max_header_bytes = 64 * 1024;  // header block scanned per message
  size_t max_pending_commands = 16384;  // commands awaiting replies (bulk senders pipeline)
  // LIMITATION: recipients past this are counted (accepted/refused), not kept with replies.
  size_t max_recipients = 1000;       // per transaction; more are counted, not kept
  size_t max_held_bytes = 64 * 1024;  // client bytes held while DATA awaits its reply
  size_t max_queued_results = 4096;   // each of exchanges, transactions, anomalies
};

class SmtpSession {
 public:
  explicit SmtpSession(Limits limits = {});
  ~SmtpSession();
  SmtpSession(SmtpSession&&) noexcept;
  SmtpSession& operator=(SmtpSession&&) noexcept;

  void client_data(Timestamp time, std::span<const uint8_t> bytes);
  void server_data(Timestamp time, std::span<const uint8_t> bytes);
  void client_gap(Timestamp time, uint64_t missing_bytes);
  void server_gap(Timestamp time, uint64_t missing_bytes);
  void end(Timestamp time);

  // True once the conversation has shown itself to be SMTP, by behaviour, also when the
  // capture starts in the middle of it:
  //  - the server's first line is a 220/554/421 greeting, or the client sends HELO/EHLO;
  //  - the server sends a well-formed reply that answers a recognized client command
  //    (MAIL answered by 250, say, in a capture that began after the greeting);
  //  - while the server has sent nothing at all (a one-sided capture), the client sends
  //    two recognized command lines in a row, or ends the connection after sending only
  //    recognized command lines. The caller creates sessions for SMTP ports (or after an
  //    SMTP greeting), so this client-only rule never applies to arbitrary traffic.
  bool looks_like_smtp() const;
  // True when the session has stopped parsing (STARTTLS accepted, or not SMTP at all);
  // the caller may stop feeding bytes.
  bool finished_parsing() const;

  // Finished results since the last call. end() finishes everything still open.
  std::vector<Transaction> take_transactions();
  std::vector<Exchange> take_exchanges();
  std::vector<Anomaly> take_anomalies();
  const SessionSummary& summary() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace spamtap::smtp
