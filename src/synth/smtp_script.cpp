#include "synth/smtp_script.hpp"

#include <cstdlib>

#include "synth/content.hpp"

namespace spamtap::synth {

namespace {

bool positive(const std::string &reply) { return !reply.empty() && reply[0] == '2'; }

// Client think times: people's programs answer at once, bots even faster.
Timestamp client_think(Random &random) { return random.between(200'000, 3'000'000); }
Timestamp server_think(Random &random) { return random.between(300'000, 20'000'000); }

class Dialog {
 public:
  Dialog(TcpConversationBuilder &builder, Random &random, const std::vector<SmtpTally *> &tallies)
      : builder_(builder), random_(random), tallies_(tallies) {}

  // One reply, possibly multi-line; its code is the one of the last line.
  void reply(const std::string &text) {
    builder_.add_text(text);
    builder_.add_text("\r\n");
    const size_t last_line = text.rfind('\n');
    const std::string_view final_line = last_line == std::string::npos
                                            ? std::string_view(text)
                                            : std::string_view(text).substr(last_line + 1);
    const int code = std::atoi(std::string(final_line.substr(0, 3)).c_str());
    for (SmtpTally *tally : tallies_) ++tally->reply_codes[code];
  }
  void command(const std::string &text) {
    builder_.add_text(text);
    builder_.add_text("\r\n");
  }
  void server_sends() { builder_.send(Side::kResponder, server_think(random_)); }
  void client_sends() { builder_.send(Side::kOriginator, client_think(random_)); }

 private:
  TcpConversationBuilder &builder_;
  Random &random_;
  const std::vector<SmtpTally *> &tallies_;
};

std::string ehlo_reply(const SmtpPlan &plan) {
  std::string text = "250-" + plan.server_name;
  if (plan.advertise_pipelining) text += "\r\n250-PIPELINING";
  text += "\r\n250-SIZE 52428800";
  if (plan.submission) {
    text += "\r\n250-AUTH PLAIN LOGIN";
  } else {
    text += "\r\n250-STARTTLS";
  }
  text += "\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SMTPUTF8";
  return text;
}

void end_session(TcpConversationBuilder &builder, Dialog &dialog, Random &random,
                 const SmtpPlan &plan) {
  if (plan.quit) {
    dialog.command("QUIT");
    dialog.client_sends();
    dialog.reply("221 2.0.0 Bye");
    dialog.server_sends();
    builder.close(Side::kResponder, random.between(50'000, 500'000));
    return;
  }
  // Bots leave without a word: mostly a reset, sometimes a bare FIN.
  if (random.chance(0.7)) {
    builder.reset(Side::kOriginator, client_think(random));
  } else {
    builder.close(Side::kOriginator, client_think(random));
  }
}

}  // namespace

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t v =
        (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

void run_smtp_session(TcpConversationBuilder &builder, Random &random, const SmtpPlan &plan,
                      const std::vector<SmtpTally *> &tallies) {
  for (SmtpTally *tally : tallies) ++tally->sessions;
  Dialog dialog(builder, random, tallies);
  builder.handshake();

  if (!plan.refusal_greeting.empty()) {
    dialog.reply(plan.refusal_greeting);
    dialog.server_sends();
    end_session(builder, dialog, random, plan);
    return;
  }

  dialog.reply("220 " + plan.server_name + " " + plan.server_software);
  dialog.server_sends();
  dialog.command((plan.use_ehlo ? "EHLO " : "HELO ") + plan.helo_name);
  dialog.client_sends();
  dialog.reply(plan.use_ehlo ? ehlo_reply(plan) : "250 " + plan.server_name);
  dialog.server_sends();

  if (plan.submission && !plan.auth_plain.empty()) {
    dialog.command("AUTH PLAIN " + plan.auth_plain);
    dialog.client_sends();
    dialog.reply("235 2.7.0 Authentication successful");
    dialog.server_sends();
  }

  bool any_accepted = false;
  for (const SmtpRecipient &recipient : plan.recipients) {
    any_accepted = any_accepted || positive(recipient.reply);
  }
  for (SmtpTally *tally : tallies) tally->recipients += plan.recipients.size();
  const std::string mail_reply = "250 2.1.0 Ok";
  const std::string data_go_ahead = "354 End data with <CR><LF>.<CR><LF>";
  const std::string data_refused = "554 5.5.1 Error: no valid recipients";

  bool data_accepted = false;
  if (plan.pipeline) {
    dialog.command("MAIL FROM:<" + plan.mail_from + ">");
    for (const SmtpRecipient &recipient : plan.recipients) {
      dialog.command("RCPT TO:<" + recipient.address + ">");
    }
    dialog.command("DATA");
    dialog.client_sends();
    dialog.reply(mail_reply);
    for (const SmtpRecipient &recipient : plan.recipients) dialog.reply(recipient.reply);
    dialog.reply(any_accepted ? data_go_ahead : data_refused);
    dialog.server_sends();
    data_accepted = any_accepted;
  } else {
    dialog.command("MAIL FROM:<" + plan.mail_from + ">");
    dialog.client_sends();
    dialog.reply(mail_reply);
    dialog.server_sends();
    for (const SmtpRecipient &recipient : plan.recipients) {
      dialog.command("RCPT TO:<" + recipient.address + ">");
      dialog.client_sends();
      dialog.reply(recipient.reply);
      dialog.server_sends();
    }
    if (any_accepted) {
      dialog.command("DATA");
      dialog.client_sends();
      dialog.reply(data_go_ahead);
      dialog.server_sends();
      data_accepted = true;
    }
  }

  if (data_accepted) {
    std::string body = dot_stuff(plan.message);
    if (body.size() < 2 || body.compare(body.size() - 2, 2, "\r\n") != 0) body += "\r\n";
    builder.add_text(body);
    builder.add_text(".\r\n");
    dialog.client_sends();
    dialog.reply("250 2.0.0 Ok: queued as " + plan.queue_id);
    dialog.server_sends();
    for (SmtpTally *tally : tallies) ++tally->messages;
  }
  end_session(builder, dialog, random, plan);
}

}  // namespace spamtap::synth
