// Blocklist matching of finished connections: which end is the host, which is listed,
// one event per listed end and list, nested entries across lists, IPv6, and misses.
#include "detect/blocklist_detector.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "decode/packet.hpp"
#include "detect/catalog.hpp"

namespace spamtap {
namespace {

intel::Blocklist make_list(std::string name, std::string category, double weight,
                           std::vector<std::pair<std::string, std::string>> entries) {
  intel::Blocklist list;
  list.info.name = std::move(name);
  list.info.category = std::move(category);
  list.info.weight = weight;
  for (auto& [text, label] : entries) {
    auto cidr = Cidr::parse(text);
    EXPECT_TRUE(cidr) << text;
    list.entries.push_back(intel::BlocklistEntry{*cidr, label});
  }
  return list;
}

std::shared_ptr<const intel::BlocklistSet> build(std::vector<intel::Blocklist> lists) {
  std::string error;
  auto set = intel::BlocklistSet::build(std::move(lists), &error);
  EXPECT_TRUE(set) << error;
  return set;
}

// The two lists the tests share: a spam list with a /16 and a /24 nested in it from
// another list, a botnet list with single hosts, IPv4 and IPv6.
std::shared_ptr<const intel::BlocklistSet> two_lists() {
  return build({
      make_list("spam-drop", "spam", 2.0,
                {{"198.51.0.0/16", "SBL100"}, {"2001:db8:bad::/48", "SBL200"}}),
      make_list("botnet-cc", "botnet", 5.0,
                {{"198.51.100.0/24", "cc-range"},
                 {"198.51.100.7/32", "cc-host"},
                 {"2001:db8:bad:1::/64", "cc6"}}),
  });
}

Connection connection(const char* originator, uint16_t originator_port, const char* responder,
                      uint16_t responder_port, bool originator_local, bool responder_local) {
  Connection c;
  c.id = 42;
  c.key.originator = *IpAddress::parse(originator);
  c.key.responder = *IpAddress::parse(responder);
  c.key.originator_port = originator_port;
  c.key.responder_port = responder_port;
  c.key.protocol = ip_protocol::kTcp;
  c.originator_local = originator_local;
  c.responder_local = responder_local;
  c.first_time = seconds(1000);
  c.last_time = seconds(1010);
  return c;
}

struct Hit {
  std::string host;
  std::string peer;
  int peer_port;
  std::string list;
  std::string entry;
  std::string label;
  std::string direction;
  std::string listed;
};

std::vector<Hit> check(BlocklistDetector& detector, const Connection& c) {
  std::vector<Event> events;
  size_t added = detector.check(c, &events);
  EXPECT_EQ(added, events.size());
  std::vector<Hit> hits;
  for (const Event& event : events) {
    EXPECT_EQ(event.rule, rule_id::kPeerOnBlocklist);
    EXPECT_EQ(event.connection_id, c.id);
    EXPECT_EQ(event.time, c.first_time);
    auto evidence = nlohmann::json::parse(event.evidence);
    hits.push_back(Hit{event.host.to_string(), event.peer.to_string(), event.peer_port,
                       evidence["list"], evidence["entry"], evidence["label"],
                       evidence["direction"], evidence["listed"]});
  }
  return hits;
}

TEST(BlocklistDetector, CatalogKnowsTheRule) {
  const RuleInfo* rule = find_rule(rule_id::kPeerOnBlocklist);
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->name, "peer on blocklist");
  EXPECT_TRUE(rule->implemented);
}

TEST(BlocklistDetector, NoListsNoWork) {
  BlocklistDetector detector;
  std::vector<Event> events;
  EXPECT_EQ(detector.check(connection("10.0.0.5", 40000, "198.51.100.7", 25, true, false), &events),
            0u);
  EXPECT_EQ(detector.counters().connections_checked, 0u);
}

TEST(BlocklistDetector, NoHitNoEvent) {
  BlocklistDetector detector(two_lists());
  auto hits = check(detector, connection("10.0.0.5", 40000, "203.0.113.9", 25, true, false));
  EXPECT_TRUE(hits.empty());
  EXPECT_EQ(detector.counters().connections_checked, 1u);
  EXPECT_EQ(detector.counters().connections_listed, 0u);
}

TEST(BlocklistDetector, OutboundToAddressOnOneList) {
  BlocklistDetector detector(two_lists());
  auto hits = check(detector, connection("10.0.0.5", 40000, "198.51.7.7", 25, true, false));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].host, "10.0.0.5");
  EXPECT_EQ(hits[0].peer, "198.51.7.7");
  EXPECT_EQ(hits[0].peer_port, 25);
  EXPECT_EQ(hits[0].list, "spam-drop");
  EXPECT_EQ(hits[0].entry, "198.51.0.0/16");
  EXPECT_EQ(hits[0].label, "SBL100");
  EXPECT_EQ(hits[0].direction, "outbound");
  EXPECT_EQ(hits[0].listed, "remote");
}

TEST(BlocklistDetector, NestedPrefixesAcrossListsGiveOneEventPerList) {
  BlocklistDetector detector(two_lists());
  auto hits = check(detector, connection("10.0.0.5", 40000, "198.51.100.7", 443, true, false));
  ASSERT_EQ(hits.size(), 2u);
  // Each list reports its own most specific entry.
  EXPECT_EQ(hits[0].list, "spam-drop");
  EXPECT_EQ(hits[0].entry, "198.51.0.0/16");
  EXPECT_EQ(hits[1].list, "botnet-cc");
  EXPECT_EQ(hits[1].entry, "198.51.100.7/32");
  EXPECT_EQ(hits[1].label, "cc-host");

  hits = check(detector, connection("10.0.0.5", 40001, "198.51.100.8", 443, true, false));
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[1].entry, "198.51.100.0/24");
  EXPECT_EQ(detector.counters().connections_listed, 2u);
  EXPECT_EQ(detector.counters().events, 4u);
}

TEST(BlocklistDetector, InboundFromListedAddress) {
  BlocklistDetector detector(two_lists());
  auto hits = check(detector, connection("198.51.9.9", 51515, "10.0.0.25", 25, false, true));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].host, "10.0.0.25");
  EXPECT_EQ(hits[0].peer, "198.51.9.9");
  EXPECT_EQ(hits[0].peer_port, 51515);
  EXPECT_EQ(hits[0].direction, "inbound");
  EXPECT_EQ(hits[0].listed, "remote");
}

TEST(BlocklistDetector, IPv6NestedAcrossLists) {
  BlocklistDetector detector(two_lists());
  auto hits = check(detector, connection("fd00::5", 40000, "2001:db8:bad:1::25", 25, true, false));
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].host, "fd00::5");
  EXPECT_EQ(hits[0].entry, "2001:db8:bad::/48");
  EXPECT_EQ(hits[1].entry, "2001:db8:bad:1::/64");
  EXPECT_EQ(hits[1].label, "cc6");

  hits = check(detector, connection("fd00::5", 40000, "2001:db8:bad:2::25", 25, true, false));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].list, "spam-drop");

  EXPECT_TRUE(
      check(detector, connection("fd00::5", 40000, "2001:db8:bee::1", 25, true, false)).empty());
}

TEST(BlocklistDetector, BothEndsListedGiveEventsForEach) {
  BlocklistDetector detector(two_lists());
  // Neither end local: each event's host is the end that talked to the listed one.
  auto hits = check(detector, connection("198.51.100.7", 40000, "198.51.3.3", 25, false, false));
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0].peer, "198.51.100.7");
  EXPECT_EQ(hits[0].host, "198.51.3.3");
  EXPECT_EQ(hits[0].direction, "inbound");
  EXPECT_EQ(hits[1].peer, "198.51.100.7");
  EXPECT_EQ(hits[1].list, "botnet-cc");
  EXPECT_EQ(hits[2].peer, "198.51.3.3");
  EXPECT_EQ(hits[2].host, "198.51.100.7");
  EXPECT_EQ(hits[2].direction, "outbound");
  EXPECT_EQ(detector.counters().connections_listed, 1u);
}

TEST(BlocklistDetector, ListedOwnHostIsTheHost) {
  // With public home networks one of our own hosts can be on a list.
  BlocklistDetector detector(two_lists());
  auto hits = check(detector, connection("198.51.3.3", 40000, "192.0.2.80", 80, true, false));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].host, "198.51.3.3");
  EXPECT_EQ(hits[0].peer, "198.51.3.3");
  EXPECT_EQ(hits[0].peer_port, 40000);
  EXPECT_EQ(hits[0].direction, "outbound");
  EXPECT_EQ(hits[0].listed, "host");
}

TEST(BlocklistDetector, EvidenceCarriesCategoryWeightAndStaysValidJson) {
  auto set = build({make_list("odd\x01name", "spam", 3.5,
                              {{"192.0.2.0/24", std::string("bad\xff\x1b[31mlabel")}})});
  BlocklistDetector detector(set);
  std::vector<Event> events;
  detector.check(connection("10.0.0.5", 40000, "192.0.2.1", 25, true, false), &events);
  ASSERT_EQ(events.size(), 1u);
  auto evidence = nlohmann::json::parse(events[0].evidence);
  EXPECT_EQ(evidence["category"], "spam");
  EXPECT_DOUBLE_EQ(evidence["weight"].get<double>(), 3.5);
  EXPECT_EQ(evidence["protocol"], "tcp");
  EXPECT_EQ(evidence["list"], "odd\x01name");
  EXPECT_EQ(events[0].evidence.find('\x1b'), std::string::npos);
  EXPECT_NE(events[0].summary.find("10.0.0.5:40000 -> 192.0.2.1:25"), std::string::npos);
}

TEST(BlocklistDetector, ReloadTakesEffectForTheNextConnection) {
  BlocklistDetector detector(two_lists());
  auto c = connection("10.0.0.5", 40000, "192.0.2.1", 25, true, false);
  EXPECT_TRUE(check(detector, c).empty());
  detector.set_blocklists(build({make_list("new", "", 1.0, {{"192.0.2.1", "x"}})}));
  auto hits = check(detector, c);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].list, "new");
  EXPECT_EQ(hits[0].entry, "192.0.2.1/32");
}

}  // namespace
}  // namespace spamtap
