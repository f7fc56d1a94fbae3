// The rule catalog: every spam-source rule spamtap knows, with its stable id, name,
// severity and what fires it. `spamtap rules` prints this table; events name rules
// by id.
#pragma once

#include <span>
#include <string_view>

#include "detect/event.hpp"

namespace spamtap {

struct RuleInfo {
  int id;
  std::string_view name;
  Severity severity;
  std::string_view fires_when;
  bool implemented;
};

std::span<const RuleInfo> rule_catalog();
const RuleInfo* find_rule(int id);

namespace rule_id {
constexpr int kRelayingDenied = 4122;
constexpr int kUnknownRecipients = 4123;
constexpr int kBlocklistedByReceiver = 4124;
constexpr int kRefusedAsSpam = 4125;
constexpr int kDirectToMxFanOut = 4126;
constexpr int kThrottled = 4127;
constexpr int kBotLikeClient = 4184;
constexpr int kBulkMailClient = 4185;
constexpr int kPeerOnBlocklist = 4300;
constexpr int kNeverSeenBefore = 4301;
constexpr int kSurge = 4302;
}  // namespace rule_id

}  // namespace spamtap
