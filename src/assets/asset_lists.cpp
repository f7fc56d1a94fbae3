#include "assets/asset_lists.hpp"

#include <fmt/format.h>

#include "detect/catalog.hpp"

namespace spamtap {

const char* to_string(AssetListDefinition::Kind kind) {
  switch (kind) {
    case AssetListDefinition::Kind::kStatic: return "static";
    case AssetListDefinition::Kind::kCidr: return "cidr";
    case AssetListDefinition::Kind::kDynamic: return "dynamic";
  }
  return "unknown";
}

std::vector<AssetListDefinition> default_asset_lists() {
  AssetListDefinition spam;
  spam.name = "SPAM Server";
  spam.kind = AssetListDefinition::Kind::kDynamic;
  spam.rules = {rule_id::kRelayingDenied,        rule_id::kUnknownRecipients,
                rule_id::kBlocklistedByReceiver, rule_id::kRefusedAsSpam,
                rule_id::kDirectToMxFanOut,      rule_id::kThrottled,
                rule_id::kBotLikeClient,         rule_id::kBulkMailClient};
  return {spam};
}

AssetTracker::AssetTracker(std::vector<AssetListDefinition> lists, HomeNetworks home,
                           std::vector<RecordSink*> downstream)
    : lists_(std::move(lists)),
      home_(std::move(home)),
      downstream_(std::move(downstream)),
      members_(lists_.size()) {}

void AssetTracker::join(size_t list, const IpAddress& host, Timestamp time,
                        const std::string& reason) {
  if (!members_[list].insert(host).second) return;
  members_added_++;
  AssetMemberRecord record{lists_[list].name, host, time, reason};
  for (RecordSink* sink : downstream_) sink->write_asset_member(record);
}

void AssetTracker::write_connection(const Connection& connection) {
  if (!static_written_) {
    // Static members join when the analysis starts seeing traffic.
    static_written_ = true;
    for (size_t i = 0; i < lists_.size(); ++i) {
      if (lists_[i].kind != AssetListDefinition::Kind::kStatic) continue;
      for (const auto& host : lists_[i].hosts) {
        join(i, host, connection.first_time, "static list");
      }
    }
  }
  for (size_t i = 0; i < lists_.size(); ++i) {
    const AssetListDefinition& list = lists_[i];
    if (list.kind != AssetListDefinition::Kind::kCidr) continue;
    for (const IpAddress* host : {&connection.key.originator, &connection.key.responder}) {
      if (members_[i].count(*host)) continue;
      if (list.local_only && !home_.contains(*host)) continue;
      for (const auto& network : list.networks) {
        if (network.contains(*host)) {
          join(i, *host, connection.first_time, "in " + network.to_string());
          break;
        }
      }
    }
  }
}

void AssetTracker::write_event(const Event& event) {
  for (size_t i = 0; i < lists_.size(); ++i) {
    const AssetListDefinition& list = lists_[i];
    if (list.kind != AssetListDefinition::Kind::kDynamic) continue;
    if (!list.rules.count(event.rule)) continue;
    if (list.local_only && !home_.contains(event.host)) continue;
    if (members_[i].count(event.host)) continue;
    const RuleInfo* rule = find_rule(event.rule);
    join(i, event.host, event.time,
         fmt::format("event {} {}", event.rule, rule ? rule->name : "unknown"));
  }
}

}  // namespace spamtap
