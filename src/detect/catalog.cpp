#include "detect/catalog.hpp"

#include <array>

namespace spamtap {

namespace {

constexpr std::array<RuleInfo, 8> kCatalog{{
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
     "the reply to the end of DATA/BDAT refuses the message as spam or by policy", false},
    {rule_id::kDirectToMxFanOut, "direct-to-MX fan-out", Severity::kHigh,
     "a local host that is not a mail server talks SMTP to many distinct outside servers",
     false},
    {rule_id::kThrottled, "throttled or greylisted", Severity::kLow,
     "421/450/451 replies that say greylisted, too many connections or rate limited", false},
    {rule_id::kBotLikeClient, "bot-like SMTP client", Severity::kMedium,
     "protocol habits of bulk-mail tools (talks first, pipelines unasked, bare-IP HELO, ...)",
     false},
    {rule_id::kBulkMailClient, "bulk-mail client", Severity::kMedium,
     "the client software is a known bulk-mailing tool", false},
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

std::span<const RuleInfo> rule_catalog() { return kCatalog; }

const RuleInfo* find_rule(int id) {
  for (const auto& rule : kCatalog) {
    if (rule.id == id) return &rule;
  }
  return nullptr;
}

}  // namespace spamtap
