#include "detect/catalog.hpp"

#include <array>

#include "detect/blocklist_detector.hpp"

namespace spamtap {

namespace {

constexpr std::array<RuleInfo, 11> kCatalog{{
    {rule_id::kRelayingDenied, "relaying denied", Severity::kHigh,
     "a server answers a RCPT with 5xx saying relaying is denied or not permitted", true},
    {rule_id::kUnknownRecipients, "unknown recipients", Severity::kMedium,
     "a client gets at least N 'no such user' refusals that make up at least a share S of "
     "its RCPTs within a window",
     true},
    {rule_id::kBlocklistedByReceiver, "blocklisted by receiver", Severity::kHigh,
     "a server's refusal names a DNS blocklist (Spamhaus, SpamCop, Barracuda, SORBS, CBL, "
     "UCEPROTECT, ...); the evidence says when it quotes the client's own address",
     true},
    {rule_id::kRefusedAsSpam, "message refused as spam", Severity::kHigh,
     "the reply to the end of DATA/BDAT refuses the message as spam or by policy", true},
    {rule_id::kDirectToMxFanOut, "direct-to-MX fan-out", Severity::kHigh,
     "a local host that is not a mail server talks SMTP to more than N distinct outside "
     "servers within a window",
     true},
    {rule_id::kThrottled, "throttled or greylisted", Severity::kLow,
     "421/450/451 replies that say greylisted, too many connections or rate limited", true},
    {rule_id::kBotLikeClient, "bot-like SMTP client", Severity::kMedium,
     "protocol habits of bulk-mail tools: one strong habit (talks before the greeting, "
     "pipelines without PIPELINING, HELO with an address not its own) or two weak ones "
     "(bare-IP HELO, HELO not a name, HELO changed between sessions, no QUIT after refusals)",
     true},
    {rule_id::kBulkMailClient, "bulk-mail client", Severity::kMedium,
     "the client software (X-Mailer, User-Agent) is a known bulk-mailing tool, or claims an "
     "ordinary mail program while behaving like a bot",
     true},
    {rule_id::kPeerOnBlocklist, "peer on blocklist", Severity::kMedium,
     "either end of a connection is on a loaded IP blocklist (--blocklist NAME=PATH); one "
     "event per listed end and list, naming the list, its most specific entry, the entry's "
     "label and the direction",
     true},
    {4301, "never seen before", Severity::kLow,
     "a local host, a server port on a host, a client port of a host or a host's asset-list "
     "membership is seen for the first time after the learning period (the first run)",
     true},
    {4302, "surge", Severity::kMedium,
     "a host's connections or distinct peers in an hour exceed the median of its previous "
     "24 hours by more than max(10, 5 x MAD) and twice the window's peak",
     true},
}};

}  // namespace

const char* to_string(Severity severity) {
  switch (severity) {
    case Severity::kLow: return "low";
    case Severity::kMedium: return "medium";
    case Severity::kHigh: return "high";
  }
  return "unknown";
}

std::span<const RuleInfo> rule_catalog() {
  return kCatalog;
}

const RuleInfo* find_rule(int id) {
  for (const auto& rule : kCatalog) {
    if (rule.id == id) return &rule;
  }
  return nullptr;
}

}  // namespace spamtap
