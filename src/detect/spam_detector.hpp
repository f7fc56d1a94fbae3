// SpamDetector: applies the spam-source rules to what the SMTP analyzer saw. It is fed
// each SMTP connection's greeting and exchanges (every command with its reply) as they
// complete, keeps a little per-client state for the windowed rules, and hands out
// events with their evidence.
//
// Rules here: 4122 relaying denied, 4123 unknown recipients, 4124 blocklisted by the
// receiver. A single refusal is evidence, not a verdict: 4123 fires only on a run of
// "no such user" refusals that make up a large share of a client's recipients.
#pragma once

#include <cstdint>
#include <deque>
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
};

struct SmtpContext {
  uint64_t connection_id = 0;
  IpAddress client;
  IpAddress server;
  uint16_t server_port = 0;
};

// What a reply text says, for the rules and for tests.
enum class RefusalKind { kNone, kRelayDenied, kUnknownUser, kBlocklisted };
RefusalKind classify_refusal(const smtp::Reply& reply, std::string* blocklist_name);

class SpamDetector {
 public:
  explicit SpamDetector(DetectionSettings settings = {});

  void on_greeting(const SmtpContext& context, const smtp::Reply& greeting);
  void on_exchange(const SmtpContext& context, const smtp::Exchange& exchange);
  void on_session_end(const SmtpContext& context);

  std::vector<Event> take_events();

 private:
  struct RecipientOutcome {
    Timestamp time;
    bool unknown_user;
    uint64_t connection_id;
  };
  struct ClientWindow {
    std::deque<RecipientOutcome> outcomes;
    int unknown_in_window = 0;
    Timestamp last_fired = INT64_MIN;
    std::string last_unknown_text;
  };

  void check_blocklist(const SmtpContext& context, const smtp::Reply& reply,
                       const std::string& verb);
  void record_recipient(const SmtpContext& context, const smtp::Exchange& exchange,
                        bool unknown_user);

  DetectionSettings settings_;
  std::unordered_map<IpAddress, ClientWindow> windows_;
  std::unordered_set<uint64_t> blocklist_reported_;  // connection ids with a 4124 event
  std::vector<Event> events_;
};

}  // namespace spamtap
