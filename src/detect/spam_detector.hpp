// SpamDetector: applies the spam-source rules to what the SMTP analyzer saw. It is fed
// each SMTP connection's greeting, exchanges (every command with its reply) and
// transactions as they complete, and the session summary when the connection ends. It
// keeps a little per-client state for the windowed rules and hands out events with
// their evidence, plus the software (record 20) it noticed on the way.
//
// A single refusal is evidence, not a verdict: 4123 fires only on a run of "no such
// user" refusals that make up a large share of a client's recipients, and 4126 only
// when a host that is not a mail server talks to many outside mail servers.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/address.hpp"
#include "detect/event.hpp"
#include "smtp/model.hpp"

namespace spamtap {

struct DetectionSettings {
  // 4123: at least this many unknown-user refusals ...
  int unknown_recipients_min_count = 5;
  // ... making up at least this share of the client's RCPTs ...
  double unknown_recipients_min_share = 0.5;
  // ... within this window.
  Timestamp unknown_recipients_window = seconds(3600);

  // 4126: more than this many distinct outside SMTP servers within the window.
  int fan_out_min_servers = 5;
  Timestamp fan_out_window = seconds(3600);
  // Declared mail servers; local hosts seen serving SMTP are added as they show up.
  std::vector<IpAddress> mail_servers;

  // 4185: client software names (case-insensitive substrings) of bulk-mailing tools,
  // and of ordinary mail programs (recorded, never an event by themselves).
  std::vector<std::string> bulk_mailers{"atomic mail sender", "sendblaster", "advanced mass sender",
                                        "mass mailer",        "maxbulk",     "gammadyne",
                                        "group mail",         "bulk mailer", "turbo-mailer",
                                        "ultimate bulk",      "mailking",    "supermailer"};
  std::vector<std::string> ordinary_mailers{"outlook",   "thunderbird", "apple mail",
                                            "evolution", "mutt",        "kmail",
                                            "the bat",   "claws mail",  "windows live mail"};

  // 4184 and 4185 fire at most once per host within this window.
  Timestamp repeat_window = seconds(3600);
};

struct SmtpContext {
  uint64_t connection_id = 0;
  IpAddress client;
  IpAddress server;
  uint16_t server_port = 0;
  bool client_local = false;
  bool server_local = false;
};

// What a reply text says, for the rules and for tests.
enum class RefusalKind {
  kNone,
  kRelayDenied,
  kUnknownUser,
  kBlocklisted,
  kSpamOrPolicy,
  kThrottled
};
RefusalKind classify_refusal(const smtp::Reply& reply, std::string* blocklist_name);

// The bot-like habits rule 4184 looks for in one session, by name.
std::vector<std::string> helo_habits(const std::string& helo, const IpAddress& client);

class SpamDetector {
 public:
  explicit SpamDetector(DetectionSettings settings = {});

  void on_greeting(const SmtpContext& context, const smtp::Reply& greeting);
  void on_exchange(const SmtpContext& context, const smtp::Exchange& exchange);
  void on_transaction(const SmtpContext& context, const smtp::Transaction& transaction);
  void on_session_end(const SmtpContext& context, const smtp::SessionSummary& summary,
                      Timestamp end_time);

  std::vector<Event> take_events();
  std::vector<SoftwareRecord> take_software();

 private:
  struct RecipientOutcome {
    Timestamp time;
    bool unknown_user;
  };
  struct ClientState {
    std::deque<RecipientOutcome> outcomes;
    int unknown_in_window = 0;
    Timestamp unknown_last_fired = INT64_MIN;
    std::string last_unknown_text;

    std::deque<std::pair<Timestamp, IpAddress>> servers;  // outside SMTP servers talked to
    Timestamp fan_out_last_fired = INT64_MIN;

    std::string last_helo;
    Timestamp habits_last_fired = INT64_MIN;
    Timestamp bulk_last_fired = INT64_MIN;
  };
  struct SessionState {
    int refusals = 0;
    bool blocklist_reported = false;
    bool throttle_reported = false;
    std::string ordinary_software;
  };

  void check_reply(const SmtpContext& context, const smtp::Reply& reply, const std::string& verb);
  void record_recipient(const SmtpContext& context, const smtp::Exchange& exchange,
                        bool unknown_user);
  void record_server(const SmtpContext& context, Timestamp time);
  bool is_mail_server(const IpAddress& host) const;
  void check_software(const SmtpContext& context, const smtp::Transaction& transaction,
                      const std::string& kind, const std::string& name);

  DetectionSettings settings_;
  std::unordered_map<IpAddress, ClientState> clients_;
  std::unordered_map<uint64_t, SessionState> sessions_;
  std::unordered_set<IpAddress> mail_servers_;
  std::unordered_set<uint64_t> fan_out_counted_;  // connection ids already counted
  std::vector<Event> events_;
  std::vector<SoftwareRecord> software_;
};

}  // namespace spamtap
