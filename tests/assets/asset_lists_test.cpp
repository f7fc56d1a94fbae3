#include "assets/asset_lists.hpp"

#include <gtest/gtest.h>

#include "detect/catalog.hpp"

namespace spamtap {
namespace {

struct MemberSink : RecordSink {
  void write_connection(const Connection&) override {}
  void write_smtp(const SmtpRecord&) override {}
  void write_exchange(const SmtpExchangeRecord&) override {}
  void write_session(const SmtpSessionRecord&) override {}
  void write_event(const Event&) override {}
  void write_anomaly(const AnomalyRecord&) override {}
  void write_run(const RunRecord&) override {}
  void flush() override {}
  void write_asset_member(const AssetMemberRecord& m) override { members.push_back(m); }
  std::vector<AssetMemberRecord> members;
};

Event event(const char* host, int rule, int64_t second) {
  Event e;
  e.host = *IpAddress::parse(host);
  e.rule = rule;
  e.time = seconds(second);
  return e;
}

Connection connection(const char* from, const char* to, int64_t second) {
  Connection c;
  c.key.originator = *IpAddress::parse(from);
  c.key.responder = *IpAddress::parse(to);
  c.first_time = seconds(second);
  return c;
}

TEST(AssetTracker, DefaultSpamServerListTakesLocalHostsWithSpamEvents) {
  MemberSink sink;
  AssetTracker tracker(default_asset_lists(), HomeNetworks(), {&sink});
  tracker.write_event(event("10.0.0.66", rule_id::kRelayingDenied, 10));
  tracker.write_event(event("10.0.0.66", rule_id::kUnknownRecipients, 20));  // already in
  tracker.write_event(event("203.0.113.5", rule_id::kRelayingDenied, 30));   // not local
  tracker.write_event(event("10.0.0.7", 4300, 40));  // a rule outside the list
  ASSERT_EQ(sink.members.size(), 1u);
  EXPECT_EQ(sink.members[0].list, "SPAM Server");
  EXPECT_EQ(sink.members[0].host.to_string(), "10.0.0.66");
  EXPECT_EQ(sink.members[0].joined, seconds(10));
  EXPECT_EQ(sink.members[0].reason, "event 4122 relaying denied");
}

TEST(AssetTracker, StaticAndCidrLists) {
  AssetListDefinition mail{"Mail servers",
                           AssetListDefinition::Kind::kStatic,
                           {*IpAddress::parse("10.0.0.25")},
                           {},
                           {},
                           true};
  AssetListDefinition office{
      "Office", AssetListDefinition::Kind::kCidr, {}, {*Cidr::parse("10.1.0.0/16")}, {}, true};
  MemberSink sink;
  AssetTracker tracker({mail, office}, HomeNetworks(), {&sink});
  tracker.write_connection(connection("10.1.2.3", "198.51.100.1", 5));
  tracker.write_connection(connection("10.1.2.3", "10.1.9.9", 6));
  tracker.write_connection(connection("10.2.0.1", "198.51.100.1", 7));
  ASSERT_EQ(sink.members.size(), 3u);
  EXPECT_EQ(sink.members[0].list, "Mail servers");
  EXPECT_EQ(sink.members[0].reason, "static list");
  EXPECT_EQ(sink.members[1].host.to_string(), "10.1.2.3");
  EXPECT_EQ(sink.members[1].reason, "in 10.1.0.0/16");
  EXPECT_EQ(sink.members[2].host.to_string(), "10.1.9.9");
  EXPECT_EQ(sink.members[2].joined, seconds(6));
}

}  // namespace
}  // namespace spamtap
