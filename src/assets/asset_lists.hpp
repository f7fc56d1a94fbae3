// Asset lists: named sets of hosts an analyst slices everything by. A list is static
// (addresses named in the config), CIDR (every host seen inside the given networks) or
// dynamic (every host with an event from the given rules, e.g. the default
// "SPAM Server"). The tracker watches the records flowing out of an analysis and
// writes each host's joining, with when and why, to its downstream sinks; the store
// keeps the first joining of each host.
#pragma once

#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/address.hpp"
#include "store/records.hpp"

namespace spamtap {

struct AssetListDefinition {
  enum class Kind { kStatic, kCidr, kDynamic };
  std::string name;
  Kind kind = Kind::kDynamic;
  std::vector<IpAddress> hosts;  // kStatic
  std::vector<Cidr> networks;    // kCidr
  std::set<int> rules;           // kDynamic: events of these rules make a member
  bool local_only = true;        // kDynamic/kCidr: only hosts of the home networks
};

const char* to_string(AssetListDefinition::Kind kind);
// "SPAM Server": every local host with an event from 4122-4127, 4184 or 4185.
std::vector<AssetListDefinition> default_asset_lists();

class AssetTracker : public RecordSink {
 public:
  AssetTracker(std::vector<AssetListDefinition> lists, HomeNetworks home,
               std::vector<RecordSink*> downstream);

  void write_connection(const Connection& connection) override;
  void write_event(const Event& event) override;
  void write_smtp(const SmtpRecord&) override {}
  void write_exchange(const SmtpExchangeRecord&) override {}
  void write_session(const SmtpSessionRecord&) override {}
  void write_anomaly(const AnomalyRecord&) override {}
  void write_run(const RunRecord&) override {}
  void flush() override {}

  uint64_t members_added() const { return members_added_; }

 private:
  void join(size_t list, const IpAddress& host, Timestamp time, const std::string& reason);

  std::vector<AssetListDefinition> lists_;
  HomeNetworks home_;
  std::vector<RecordSink*> downstream_;
  std::vector<std::unordered_set<IpAddress>> members_;
  bool static_written_ = false;
  uint64_t members_added_ = 0;
};

}  // namespace spamtap
