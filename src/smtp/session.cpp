#include "smtp/session.hpp"

#include <algorithm>
#include <cstdint>
#include <list>
#include <string>
#include <utility>

#include "smtp/command.hpp"
#include "smtp/line_assembler.hpp"
#include "smtp/message_content.hpp"
#include "smtp/reply_assembler.hpp"
#include "smtp/text.hpp"

namespace spamtap::smtp {
namespace {

enum class Phase { Parsing, TlsStarted, NotSmtp };

// What the client stream carries next.
enum class ClientMode {
  Commands,
  AuthData,           // lines answering 334 challenges: credentials, never stored
  AwaitingDataReply,  // DATA sent: what follows is body on 354, commands on a refusal
  DataContent,        // after 354, up to the "." line
  BdatContent,        // the raw bytes of a BDAT chunk
};

// What a queued client line waits for.
enum class Awaited { Command, AuthData, EndOfData };

constexpr size_t kNoRecipient = SIZE_MAX;
constexpr size_t kMaxHeldSegments = 64;
constexpr size_t kMaxAuthMechanism = 32;
constexpr size_t kMaxExtensions = 64;
constexpr size_t kMaxAnomalyDetail = 128;

struct PendingCommand {
  Exchange exchange;
  Verb verb = Verb::Other;
  Awaited awaited = Awaited::Command;
  uint64_t transaction_id = 0;  // 0: not part of a transaction
  size_t recipient_index = kNoRecipient;
  bool unkept_recipient = false;
  bool last_chunk = false;
  bool known = false;  // a recognized SMTP verb: its reply shows the session is SMTP
};

struct TransactionSlot {
  uint64_t id = 0;
  Transaction transaction;
  int outstanding = 0;  // queued client lines whose replies belong to it
  bool closed = false;  // no later command joins it; it leaves once outstanding is 0
  bool content_started = false;
  bool chunk_refused = false;
};

// Client bytes held while DATA waits for its reply, cut where a gap fell.
struct HeldSegment {
  Timestamp time = 0;
  size_t end = 0;  // offset in the held bytes
  uint64_t gap_after = 0;
};

// What a reply asks for once it has been recorded.
enum class FollowUp { None, DataAccepted, DataRefused };

bool is_positive(int code) { return code >= 200 && code < 300; }

bool is_greeting_code(int code) { return code == 220 || code == 421 || code == 554; }

bool valid_reply_prefix(std::string_view line, bool complete) {
  if (complete && line.size() < 3) return false;
  for (size_t i = 0; i < std::min<size_t>(3, line.size()); ++i) {
    if (!is_digit(line[i])) return false;
  }
  return line.size() <= 3 || line[3] == ' ' || line[3] == '-' || line[3] == '\r';
}

std::string_view first_line(std::span<const uint8_t> bytes) {
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  text = text.substr(0, text.find('\n'));
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  return text;
}

}  // namespace

struct SmtpSession::State {
  explicit State(const Limits& given)
      : limits(given),
        client_lines(given.max_line),
        server_lines(given.max_line),
        reply(given.max_text),
        headers(given.max_text, given.max_header_bytes) {}

  // Client side.
  void client_data(Timestamp time, std::span<const uint8_t> bytes);
  void feed_client(Timestamp time, std::span<const uint8_t> bytes);
  void on_client_line(Timestamp time);
  void on_command(Timestamp time, std::string_view line);
  void start_bdat(PendingCommand& command, Timestamp time);
  void on_end_of_data(Timestamp time);
  void finish_bdat_chunk();
  size_t hold(Timestamp time, std::span<const uint8_t> bytes);
  void resolve_data_hold(bool content, Timestamp time, const Reply* data_reply = nullptr);
  void note_client_line(bool known);
  void client_gap(Timestamp time, uint64_t missing);
  void gap_in_client_stream(Timestamp time, uint64_t missing);

  // Server side.
  void server_data(Timestamp time, std::span<const uint8_t> bytes);
  void on_server_line(Timestamp time);
  bool answers_no_command(const Reply& first_reply) const;
  void on_reply(const Reply& reply);
  void end_of_data_from_server(const Reply& reply);
  FollowUp apply_reply(PendingCommand& command, const Reply& reply, TransactionSlot* slot);
  void server_gap(Timestamp time, uint64_t missing);

  // Bookkeeping.
  void queue(PendingCommand command);
  void drop_pending_expectations();
  TransactionSlot* find_slot(uint64_t id);
  TransactionSlot* open_slot();
  TransactionSlot& open_transaction(Timestamp time);
  TransactionSlot& ensure_open_transaction(Timestamp time);
  void close_open_transaction();
  void release(uint64_t id);
  Transaction& content_target();
  void end(Timestamp time);
  void not_smtp(Timestamp time, std::string_view side);
  void anomaly(Timestamp time, std::string_view name, std::string_view detail = {});
  template <typename T>
  void publish(std::vector<T>& queue, T value);

  Limits limits;
  Phase phase = Phase::Parsing;
  SessionSummary summary;

  LineAssembler client_lines;
  LineAssembler server_lines;
  ReplyAssembler reply;
  HeaderScanner headers;
  DotDecoder dots;

  ClientMode client_mode = ClientMode::Commands;
  uint64_t bdat_remaining = 0;
  bool bdat_last = false;
  uint64_t content_transaction = 0;
  // Sink for content that has no transaction left; made on first use, as most sessions
  // never need it and a Transaction is over 500 bytes.
  std::unique_ptr<Transaction> discarded_content;

  bool server_seen = false;
  // Client bytes came before any server byte. Whether that means "talked before the
  // greeting" or "the capture began midstream" is known only from the first reply.
  bool client_before_server = false;
  Timestamp first_client_time = 0;
  // Client lines while the server has sent nothing (one-sided captures).
  int known_lines_in_row = 0;
  bool client_line_seen = false;
  bool unknown_client_line = false;
  // A gap ended in the command stream: the next line may be the tail of a lost one.
  bool line_after_gap = false;
  bool server_line_seen = false;
  bool server_prefix_checked = false;
  bool client_first_line_checked = false;
  bool greeting_seen = false;
  bool smtp_shown = false;
  bool pipelining_offered = false;
  bool data_in_queue = false;
  bool replaying_held = false;
  bool ended = false;

  // Lists, not deques: an empty std::deque already allocates a block of several hundred
  // bytes, which every idle connection would pay; a list allocates only per element.
  std::list<PendingCommand> pending;
  std::list<TransactionSlot> transactions;
  uint64_t next_transaction_id = 1;
  std::string helo_in_force;

  std::vector<uint8_t> held;
  std::vector<HeldSegment> held_segments;

  std::vector<Transaction> finished_transactions;
  std::vector<Exchange> finished_exchanges;
  std::vector<Anomaly> anomalies;
};

// ---------------------------------------------------------------------------------------
// Client side

void SmtpSession::State::client_data(Timestamp time, std::span<const uint8_t> bytes) {
  if (phase != Phase::Parsing || ended || bytes.empty()) return;

  if (!server_seen && !client_before_server) {
    client_before_server = true;
    first_client_time = time;
  }
  feed_client(time, bytes);
}

void SmtpSession::State::feed_client(Timestamp time, std::span<const uint8_t> bytes) {
  while (!bytes.empty() && phase == Phase::Parsing) {
    switch (client_mode) {
      case ClientMode::Commands:
      case ClientMode::AuthData: {
        bytes = bytes.subspan(client_lines.feed(bytes));
        if (!client_first_line_checked && looks_like_other_protocol(client_lines.line())) {
          not_smtp(time, "client");
          return;
        }
        if (client_lines.line_ready()) {
          client_first_line_checked = true;
          on_client_line(time);
          client_lines.next();
        }
        break;
      }

      case ClientMode::AwaitingDataReply:
        bytes = bytes.subspan(hold(time, bytes));  // a full hold decides the mode
        break;

      case ClientMode::DataContent: {
        DotDecoderResult result = dots.feed(bytes, headers, content_target());
        bytes = bytes.subspan(result.consumed);
        for (uint32_t i = 0; i < result.bare_lf_before_dot; ++i) {
          anomaly(time, "bare_lf_before_dot");
        }
        if (result.end_of_data) on_end_of_data(time);
        break;
      }

      case ClientMode::BdatContent: {
        size_t take = static_cast<size_t>(std::min<uint64_t>(bdat_remaining, bytes.size()));
        headers.feed(bytes.first(take), content_target());
        bytes = bytes.subspan(take);
        bdat_remaining -= take;
        if (bdat_remaining == 0) finish_bdat_chunk();
        break;
      }
    }
  }
}

void SmtpSession::State::on_client_line(Timestamp time) {
  std::string_view line = client_lines.line();
  if (client_lines.cut()) anomaly(time, "line_too_long", "client");
  if (client_lines.has_nul()) anomaly(time, "nul_in_line", "client");

  if (std::exchange(line_after_gap, false) && !parse_command(line).known) {
    // Gaps fall on segment edges, which are usually line starts: a line that opens with a
    // known verb is kept, anything else is the tail of a line whose start was lost.
    anomaly(time, "line_cut_by_gap");
    return;
  }

  if (client_mode == ClientMode::AuthData) {
    note_client_line(true);
    PendingCommand command;
    command.exchange.time = time;
    command.exchange.verb = "AUTH";
    command.exchange.argument = "(auth data)";
    command.verb = Verb::Auth;
    command.awaited = Awaited::AuthData;
    queue(std::move(command));
    return;
  }

  if (trim(line).empty()) {
    // Servers answer an empty line (500 or 502), so it waits for a reply like a command.
    anomaly(time, "empty_command_line");
    note_client_line(false);
    PendingCommand command;
    command.exchange.time = time;
    queue(std::move(command));
    return;
  }
  on_command(time, line);
}

void SmtpSession::State::note_client_line(bool known) {
  if (server_seen) return;
  client_line_seen = true;
  if (!known) {
    unknown_client_line = true;
    known_lines_in_row = 0;
    return;
  }
  // With nothing from the server, two recognized verbs in a row are the evidence.
  if (++known_lines_in_row >= 2) smtp_shown = true;
}

void SmtpSession::State::on_command(Timestamp time, std::string_view line) {
  CommandLine parsed = parse_command(line);
  note_client_line(parsed.known);

  // In a one-sided capture every command looks early; only a server that was seen can
  // show that the client did not wait.
  bool early = (!pending.empty() || replaying_held) && server_seen;
  if (early && !pipelining_offered && !summary.pipelined_without_extension) {
    // Sending before the previous reply is only allowed once the server offered it.
    summary.pipelined_without_extension = true;
    anomaly(time, "pipelining_without_extension", parsed.verb);
  }

  PendingCommand command;
  command.exchange.time = time;
  command.known = parsed.known;
  if (!parsed.verb_shaped) {
    // Binary noise or text that is no command: still an exchange (the server answers it,
    // usually with 500), but without a verb; the whole line is kept as its argument.
    anomaly(time, "malformed_command", line.substr(0, kMaxAnomalyDetail));
    command.exchange.argument = bounded(trim(line), limits.max_text);
    queue(std::move(command));
    return;
  }
  command.exchange.verb = parsed.verb;
  command.exchange.argument = bounded(parsed.argument, limits.max_text);
  command.verb = parsed.kind;

  switch (parsed.kind) {
    case Verb::Helo:
    case Verb::Ehlo:
      smtp_shown = true;
      helo_in_force = command.exchange.argument;
      if (summary.helo.empty()) summary.helo = helo_in_force;
      break;

    case Verb::Mail: {
      close_open_transaction();
      TransactionSlot& slot = open_transaction(time);
      slot.transaction.mail_from = bounded(command_path(parsed.argument, "FROM:"), limits.max_text);
      command.transaction_id = slot.id;
      break;
    }

    case Verb::Rcpt: {
      TransactionSlot* slot = open_slot();
      if (!slot) {
        anomaly(time, "rcpt_without_mail");
        break;
      }
      command.transaction_id = slot->id;
      Transaction& transaction = slot->transaction;
      if (transaction.recipients.size() < limits.max_recipients) {
        Recipient recipient;
        recipient.address = bounded(command_path(parsed.argument, "TO:"), limits.max_text);
        command.recipient_index = transaction.recipients.size();
        transaction.recipients.push_back(std::move(recipient));
      } else {
        ++transaction.unkept_recipients;
        command.unkept_recipient = true;
      }
      break;
    }

    case Verb::Data:
      if (TransactionSlot* slot = open_slot()) command.transaction_id = slot->id;
      client_mode = ClientMode::AwaitingDataReply;
      data_in_queue = true;
      break;

    case Verb::Bdat:
      start_bdat(command, time);
      break;

    case Verb::Auth: {
      std::string mechanism =
          first_word_upper(parsed.argument, std::min(kMaxAuthMechanism, limits.max_text));
      bool initial_response = trim(parsed.argument).size() > mechanism.size();
      summary.auth_mechanism = mechanism;
      command.exchange.argument =
          bounded(initial_response ? mechanism + " (auth data)" : mechanism, limits.max_text);
      client_mode = ClientMode::AuthData;
      break;
    }

    case Verb::Quit:
      summary.quit_sent = true;
      close_open_transaction();
      break;

    case Verb::Rset:
      close_open_transaction();
      break;

    case Verb::StartTls:
    case Verb::Other:
      break;
  }
  queue(std::move(command));
}

void SmtpSession::State::start_bdat(PendingCommand& command, Timestamp time) {
  std::optional<BdatArgument> chunk = parse_bdat(command.exchange.argument);
  if (!chunk) {
    // Without a trustworthy size the chunk cannot be skipped; read on as commands.
    anomaly(time, "bdat_bad_size", command.exchange.argument.substr(0, kMaxAnomalyDetail));
    return;
  }

  TransactionSlot& slot = ensure_open_transaction(time);
  Transaction& transaction = slot.transaction;
  transaction.data_sent = true;
  ++transaction.bdat_chunks;
  if (!slot.content_started) {
    slot.content_started = true;
    headers.start();
  }
  content_transaction = slot.id;
  command.transaction_id = slot.id;
  command.last_chunk = chunk->last;
  if (chunk->last) slot.closed = true;

  bdat_last = chunk->last;
  bdat_remaining = chunk->size;
  if (bdat_remaining > 0) {
    client_mode = ClientMode::BdatContent;
  } else {
    finish_bdat_chunk();
  }
}

void SmtpSession::State::finish_bdat_chunk() {
  client_mode = ClientMode::Commands;
  if (bdat_last) headers.finish(content_target());
}

void SmtpSession::State::on_end_of_data(Timestamp time) {
  headers.finish(content_target());
  client_mode = ClientMode::Commands;

  TransactionSlot* slot = find_slot(content_transaction);
  if (slot) slot->closed = true;

  // The end of data is answered like a command but is not one: its reply goes to the
  // transaction only, and no exchange is published for it.
  PendingCommand command;
  command.exchange.time = time;
  command.exchange.verb = ".";
  command.awaited = Awaited::EndOfData;
  command.transaction_id = slot ? slot->id : 0;
  queue(std::move(command));
}

// Holds client bytes sent after DATA until its reply tells body from commands, and
// returns how many were taken. Past the hold limit the mode is guessed from the held
// bytes (filled up to the limit first, so the guess does not depend on how the stream
// was cut into calls) and the caller goes on with the rest in that mode.
size_t SmtpSession::State::hold(Timestamp time, std::span<const uint8_t> bytes) {
  bool new_segment = held_segments.empty() || held_segments.back().time != time ||
                     held_segments.back().gap_after != 0;
  size_t room = limits.max_held_bytes - std::min(held.size(), limits.max_held_bytes);
  size_t take = (new_segment && held_segments.size() >= kMaxHeldSegments)
                    ? 0
                    : std::min(room, bytes.size());

  if (take > 0) {
    held.insert(held.end(), bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(take));
    if (new_segment) held_segments.push_back({time, held.size(), 0});
    held_segments.back().end = held.size();
  }
  if (take == bytes.size()) return take;

  std::span<const uint8_t> sample = held.empty() ? bytes : std::span<const uint8_t>(held);
  anomaly(time, "data_reply_not_awaited");
  resolve_data_hold(!looks_like_command(first_line(sample)), time);
  return take;
}

void SmtpSession::State::resolve_data_hold(bool content, Timestamp time,
                                           const Reply* data_reply) {
  if (client_mode != ClientMode::AwaitingDataReply) return;

  if (content) {
    TransactionSlot& slot = ensure_open_transaction(time);
    // DATA without MAIL had no transaction to record its 354 in; this one now does.
    if (data_reply && slot.transaction.data_reply.code == 0) {
      slot.transaction.data_reply = *data_reply;
    }
    slot.content_started = true;
    slot.transaction.data_sent = true;
    content_transaction = slot.id;
    headers.start();
    dots.start();
    client_mode = ClientMode::DataContent;
    if (!held.empty()) anomaly(time, "content_before_354");
  } else {
    client_mode = ClientMode::Commands;
  }

  // Replay what was held, in the mode now known. A replayed DATA holds again, but
  // never more than was held here, so this does not recurse further.
  std::vector<uint8_t> bytes = std::move(held);
  std::vector<HeldSegment> segments = std::move(held_segments);
  held.clear();
  held_segments.clear();
  bool was_replaying = replaying_held;
  replaying_held = !content;

  size_t begin = 0;
  for (const HeldSegment& segment : segments) {
    feed_client(segment.time, std::span<const uint8_t>(bytes).subspan(begin, segment.end - begin));
    begin = segment.end;
    if (segment.gap_after > 0) gap_in_client_stream(segment.time, segment.gap_after);
  }
  replaying_held = was_replaying;
}

void SmtpSession::State::client_gap(Timestamp time, uint64_t missing) {
  if (phase != Phase::Parsing || ended || missing == 0) return;
  summary.gap_bytes_client += missing;
  anomaly(time, "content_gap", "client");
  client_first_line_checked = true;
  gap_in_client_stream(time, missing);
}

void SmtpSession::State::gap_in_client_stream(Timestamp time, uint64_t missing) {
  switch (client_mode) {
    case ClientMode::Commands:
      // LIMITATION: commands lost in the gap are not queued, so a reply to one that comes
      // after the next seen command is matched to that command (one reply off) until the
      // queue drains; replies that come before it are kept as verb-less exchanges.
      client_lines.next();  // the partial line before the gap is lost
      line_after_gap = true;
      break;

    case ClientMode::AuthData:
      client_lines.resync();
      break;

    case ClientMode::AwaitingDataReply:
      // The gap marks the end of the last held segment; bytes after it start a new one.
      if (held_segments.empty()) held_segments.push_back({time, held.size(), 0});
      held_segments.back().gap_after += missing;
      break;

    case ClientMode::DataContent:
      dots.gap();  // stay in the body: the "." line can still be found
      headers.gap();
      break;

    case ClientMode::BdatContent:
      headers.gap();
      if (missing < bdat_remaining) {
        bdat_remaining -= missing;
      } else {
        bool commands_lost = missing > bdat_remaining;
        bdat_remaining = 0;
        finish_bdat_chunk();
        if (commands_lost) line_after_gap = true;
      }
      break;
  }
}

// ---------------------------------------------------------------------------------------
// Server side

void SmtpSession::State::server_data(Timestamp time, std::span<const uint8_t> bytes) {
  if (phase != Phase::Parsing || ended || bytes.empty()) return;
  server_seen = true;

  while (!bytes.empty() && phase == Phase::Parsing) {
    bytes = bytes.subspan(server_lines.feed(bytes));

    if (!server_prefix_checked) {
      // The first bytes must start a reply line; a TLS or HTTP answer fails within four.
      if (!valid_reply_prefix(server_lines.line(), server_lines.line_ready())) {
        not_smtp(time, "server");
        return;
      }
      server_prefix_checked = server_lines.line_ready() || server_lines.line().size() >= 4;
    }
    if (server_lines.line_ready()) {
      on_server_line(time);
      server_lines.next();
    }
  }
}

void SmtpSession::State::on_server_line(Timestamp time) {
  std::string_view line = server_lines.line();
  if (server_lines.cut()) anomaly(time, "line_too_long", "server");
  if (server_lines.has_nul()) anomaly(time, "nul_in_line", "server");

  bool first = !server_line_seen;
  server_line_seen = true;
  ReplyLineOutcome outcome = reply.add_line(line, time);
  if (outcome == ReplyLineOutcome::Malformed) {
    if (first) {
      not_smtp(time, "server");
    } else {
      anomaly(time, "bad_reply_line", line.substr(0, kMaxAnomalyDetail));
    }
    return;
  }

  int code = reply.first_code();
  if (first && (code == 220 || code == 554 || code == 421)) smtp_shown = true;
  if (outcome == ReplyLineOutcome::Continued) return;

  Reply complete = reply.take();
  if (reply.codes_differed()) {
    anomaly(time, "reply_code_mismatch",
            std::to_string(code) + " then " + std::to_string(complete.code));
  }
  if (!greeting_seen) {
    greeting_seen = true;
    if (answers_no_command(complete)) {
      if (client_before_server) {
        // Real clients wait for the greeting; bulk tools often do not.
        summary.client_spoke_first = true;
        anomaly(first_client_time, "client_spoke_first");
      }
      summary.greeting = std::move(complete);
      return;
    }
    // The capture began after the greeting: this reply answers the first command seen.
    anomaly(time, "greeting_not_seen", std::to_string(complete.code));
  }
  on_reply(complete);
}

// Tells the greeting from the reply to a command, for the first reply of the session.
// A client that talks first usually opens with HELO/EHLO and then gets the greeting;
// a capture that starts midstream shows a command and its own reply. 220 answers only
// STARTTLS; 421 and 554 may refuse any command, so they are taken as the greeting only
// when the client's first command opens a session.
bool SmtpSession::State::answers_no_command(const Reply& first_reply) const {
  if (pending.empty()) return is_greeting_code(first_reply.code);
  Verb first = pending.front().verb;
  if (first_reply.code == 220) return first != Verb::StartTls;
  if (first_reply.code == 421 || first_reply.code == 554) {
    return first == Verb::Helo || first == Verb::Ehlo;
  }
  return false;
}

void SmtpSession::State::on_reply(const Reply& answer) {
  if (client_mode == ClientMode::AwaitingDataReply && !data_in_queue) {
    // DATA's own expectation was lost (gap, full queue): this reply still tells.
    resolve_data_hold(answer.code == 354, answer.time);
    if (answer.code == 354) return;
  }
  if (pending.empty()) {
    if (client_mode == ClientMode::AuthData && answer.code != 334) {
      client_mode = ClientMode::Commands;
    }
    if (client_mode == ClientMode::DataContent) {
      end_of_data_from_server(answer);
      return;
    }
    // Unsolicited (a 421 on timeout) or answering a line lost before the capture: every
    // reply is kept, as an exchange without a verb.
    anomaly(answer.time, "unexpected_reply", std::to_string(answer.code));
    Exchange unsolicited;
    unsolicited.time = answer.time;
    unsolicited.reply = answer;
    publish(finished_exchanges, std::move(unsolicited));
    return;
  }

  PendingCommand command = std::move(pending.front());
  pending.pop_front();
  command.exchange.reply = answer;
  if (command.known) smtp_shown = true;  // a well-formed reply to a recognized command
  TransactionSlot* slot = find_slot(command.transaction_id);
  FollowUp follow_up = apply_reply(command, answer, slot);

  if (command.awaited != Awaited::EndOfData) {
    publish(finished_exchanges, std::move(command.exchange));
  }
  if (slot) {
    --slot->outstanding;
    release(command.transaction_id);
  }

  if (follow_up == FollowUp::DataAccepted) resolve_data_hold(true, answer.time, &answer);
  if (follow_up == FollowUp::DataRefused) {
    if (client_mode == ClientMode::DataContent) {
      // The body was assumed because too much was held; the server said otherwise.
      anomaly(answer.time, "data_refused_after_content");
      client_mode = ClientMode::Commands;
      client_lines.resync();
    }
    resolve_data_hold(false, answer.time);
  }
}

// The server answered while the client was, as far as spamtap could tell, still sending
// message content: the server found an end of data that spamtap did not (a bare-LF
// "LF . LF", or content lost in a gap). The server is the authority on what it received.
void SmtpSession::State::end_of_data_from_server(const Reply& answer) {
  anomaly(answer.time, "end_of_data_not_seen", std::to_string(answer.code));
  headers.finish(content_target());
  client_mode = ClientMode::Commands;
  if (TransactionSlot* slot = find_slot(content_transaction)) {
    slot->transaction.end_of_data_reply = answer;
    slot->closed = true;
    release(slot->id);
  }
}

FollowUp SmtpSession::State::apply_reply(PendingCommand& command, const Reply& answer,
                                         TransactionSlot* slot) {
  Transaction* transaction = slot ? &slot->transaction : nullptr;

  if (command.awaited == Awaited::EndOfData) {
    if (transaction) transaction->end_of_data_reply = answer;
    return FollowUp::None;
  }
  if (command.verb == Verb::Auth) {
    if (answer.code != 334) {
      summary.auth_result_code = answer.code;
      if (client_mode == ClientMode::AuthData) client_mode = ClientMode::Commands;
    }
    return FollowUp::None;
  }

  switch (command.verb) {
    case Verb::Ehlo:
      if (is_positive(answer.code)) {
        const auto& keywords = reply.line_keywords();
        summary.extensions.clear();
        for (size_t i = 1; i < keywords.size() && i <= kMaxExtensions; ++i) {
          summary.extensions.push_back(keywords[i]);
        }
        pipelining_offered = std::find(summary.extensions.begin(), summary.extensions.end(),
                                       "PIPELINING") != summary.extensions.end();
      }
      break;

    case Verb::Mail:
      if (transaction) transaction->mail_reply = answer;
      break;

    case Verb::Rcpt:
      if (!transaction) break;
      if (command.recipient_index < transaction->recipients.size()) {
        transaction->recipients[command.recipient_index].reply = answer;
      } else if (command.unkept_recipient && is_positive(answer.code)) {
        ++transaction->unkept_accepted;
      } else if (command.unkept_recipient && answer.code >= 400) {
        ++transaction->unkept_refused;
      }
      break;

    case Verb::Data:
      data_in_queue = false;
      if (transaction) transaction->data_reply = answer;
      return answer.code == 354 ? FollowUp::DataAccepted : FollowUp::DataRefused;

    case Verb::Bdat:
      if (!transaction) break;
      if (transaction->data_reply.code == 0) transaction->data_reply = answer;
      if (!is_positive(answer.code) && !slot->chunk_refused) {
        slot->chunk_refused = true;
        transaction->data_reply = answer;
      }
      if (command.last_chunk) transaction->end_of_data_reply = answer;
      break;

    case Verb::StartTls:
      if (answer.code == 220) {
        summary.starttls = true;  // the rest is TLS: nothing more can be read
        phase = Phase::TlsStarted;
      }
      break;

    default:
      break;
  }
  return FollowUp::None;
}

void SmtpSession::State::server_gap(Timestamp time, uint64_t missing) {
  if (phase != Phase::Parsing || ended || missing == 0) return;
  summary.gap_bytes_server += missing;
  anomaly(time, "content_gap", "server");
  server_seen = true;
  server_prefix_checked = true;
  server_line_seen = true;

  server_lines.resync();
  reply.reset();
  // Replies lost in the gap make any further matching a guess: forget what was awaited.
  // LIMITATION: commands sent before the gap but answered after it get no reply (code 0),
  // and their late replies are counted as "unexpected_reply".
  drop_pending_expectations();
}

// ---------------------------------------------------------------------------------------
// Bookkeeping

void SmtpSession::State::queue(PendingCommand command) {
  TransactionSlot* slot = find_slot(command.transaction_id);
  if (pending.size() >= limits.max_pending_commands) {
    anomaly(command.exchange.time, "too_many_pending_commands");
    if (command.verb == Verb::Data) data_in_queue = false;
    if (command.awaited != Awaited::EndOfData) {
      publish(finished_exchanges, std::move(command.exchange));
    }
    if (slot) release(slot->id);
    return;
  }
  if (slot) ++slot->outstanding;
  pending.push_back(std::move(command));
}

void SmtpSession::State::drop_pending_expectations() {
  std::list<PendingCommand> dropped;
  dropped.swap(pending);
  data_in_queue = false;
  for (PendingCommand& command : dropped) {
    if (command.awaited != Awaited::EndOfData) {
      publish(finished_exchanges, std::move(command.exchange));
    }
    if (TransactionSlot* slot = find_slot(command.transaction_id)) {
      --slot->outstanding;
      release(slot->id);
    }
  }
}

TransactionSlot* SmtpSession::State::find_slot(uint64_t id) {
  if (id == 0) return nullptr;
  for (TransactionSlot& slot : transactions) {
    if (slot.id == id) return &slot;
  }
  return nullptr;
}

TransactionSlot* SmtpSession::State::open_slot() {
  if (transactions.empty() || transactions.back().closed) return nullptr;
  return &transactions.back();
}

TransactionSlot& SmtpSession::State::open_transaction(Timestamp time) {
  TransactionSlot slot;
  slot.id = next_transaction_id++;
  slot.transaction.time = time;
  slot.transaction.helo = helo_in_force;
  transactions.push_back(std::move(slot));
  return transactions.back();
}

TransactionSlot& SmtpSession::State::ensure_open_transaction(Timestamp time) {
  if (TransactionSlot* slot = open_slot()) return *slot;
  anomaly(time, "data_without_mail");
  return open_transaction(time);
}

void SmtpSession::State::close_open_transaction() {
  if (TransactionSlot* slot = open_slot()) {
    slot->closed = true;
    release(slot->id);
  }
}

// Publishes a transaction once it is closed and no queued line still waits on a reply.
void SmtpSession::State::release(uint64_t id) {
  auto it = std::find_if(transactions.begin(), transactions.end(),
                         [id](const TransactionSlot& slot) { return slot.id == id; });
  if (it == transactions.end() || !it->closed || it->outstanding > 0) return;
  publish(finished_transactions, std::move(it->transaction));
  transactions.erase(it);
}

Transaction& SmtpSession::State::content_target() {
  TransactionSlot* slot = find_slot(content_transaction);
  if (slot) return slot->transaction;
  if (!discarded_content) discarded_content = std::make_unique<Transaction>();
  return *discarded_content;
}

void SmtpSession::State::end(Timestamp time) {
  if (ended) return;
  if (phase == Phase::Parsing) {
    // No reply to DATA will come (a one-sided capture, or the server went silent): judge
    // the held bytes as a full hold does. A DATA among them holds again, on fewer bytes.
    while (client_mode == ClientMode::AwaitingDataReply && !held.empty()) {
      anomaly(time, "data_reply_not_seen");
      resolve_data_hold(!looks_like_command(first_line(held)), time);
    }
    if (!server_seen && client_line_seen && !unknown_client_line) smtp_shown = true;
  }
  ended = true;
  if (client_mode == ClientMode::DataContent || client_mode == ClientMode::BdatContent) {
    headers.finish(content_target());
  }
  drop_pending_expectations();
  for (TransactionSlot& slot : transactions) {
    publish(finished_transactions, std::move(slot.transaction));
  }
  transactions.clear();
  held.clear();
  held_segments.clear();
}

void SmtpSession::State::not_smtp(Timestamp time, std::string_view side) {
  phase = Phase::NotSmtp;
  anomaly(time, "not_smtp", side);
}

void SmtpSession::State::anomaly(Timestamp time, std::string_view name, std::string_view detail) {
  Anomaly record;
  record.time = time;
  record.name = std::string(name);
  record.detail = bounded(detail, std::min(limits.max_text, kMaxAnomalyDetail));
  publish(anomalies, std::move(record));
}

template <typename T>
void SmtpSession::State::publish(std::vector<T>& queue, T value) {
  if (queue.size() >= limits.max_queued_results) {
    ++summary.results_dropped;
    return;
  }
  queue.push_back(std::move(value));
}

// ---------------------------------------------------------------------------------------
// Public face

SmtpSession::SmtpSession(Limits limits) : state_(std::make_unique<State>(limits)) {}
SmtpSession::~SmtpSession() = default;
SmtpSession::SmtpSession(SmtpSession&&) noexcept = default;
SmtpSession& SmtpSession::operator=(SmtpSession&&) noexcept = default;

void SmtpSession::client_data(Timestamp time, std::span<const uint8_t> bytes) {
  state_->client_data(time, bytes);
}

void SmtpSession::server_data(Timestamp time, std::span<const uint8_t> bytes) {
  state_->server_data(time, bytes);
}

void SmtpSession::client_gap(Timestamp time, uint64_t missing_bytes) {
  state_->client_gap(time, missing_bytes);
}

void SmtpSession::server_gap(Timestamp time, uint64_t missing_bytes) {
  state_->server_gap(time, missing_bytes);
}

void SmtpSession::end(Timestamp time) { state_->end(time); }

bool SmtpSession::looks_like_smtp() const {
  return state_->smtp_shown && state_->phase != Phase::NotSmtp;
}

bool SmtpSession::finished_parsing() const {
  return state_->phase != Phase::Parsing || state_->ended;
}

std::vector<Transaction> SmtpSession::take_transactions() {
  return std::exchange(state_->finished_transactions, {});
}

std::vector<Exchange> SmtpSession::take_exchanges() {
  return std::exchange(state_->finished_exchanges, {});
}

std::vector<Anomaly> SmtpSession::take_anomalies() { return std::exchange(state_->anomalies, {}); }

const SessionSummary& SmtpSession::summary() const { return state_->summary; }

}  // namespace spamtap::smtp
