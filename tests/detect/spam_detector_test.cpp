#include "detect/spam_detector.hpp"

#include <gtest/gtest.h>

#include <set>

#include "detect/catalog.hpp"

namespace spamtap {
namespace {

smtp::Reply reply(int code, const std::string& enhanced, const std::string& text,
                  int64_t second = 0) {
  smtp::Reply r;
  r.time = seconds(second);
  r.code = code;
  r.enhanced_status = enhanced;
  r.text = text;
  return r;
}

smtp::Exchange rcpt(const std::string& to, smtp::Reply answer) {
  smtp::Exchange e;
  e.time = answer.time;
  e.verb = "RCPT";
  e.argument = "TO:<" + to + ">";
  e.reply = std::move(answer);
  return e;
}

SmtpContext context(const char* client, uint64_t id = 1) {
  SmtpContext c;
  c.connection_id = id;
  c.client = *IpAddress::parse(client);
  c.server = *IpAddress::parse("198.51.100.25");
  c.server_port = 25;
  return c;
}

TEST(ClassifyRefusal, KnownServerWordings) {
  EXPECT_EQ(classify_refusal(reply(554, "5.7.1", "<a@b.example>: Relay access denied"), nullptr),
            RefusalKind::kRelayDenied);
  EXPECT_EQ(classify_refusal(reply(550, "", "Relaying denied"), nullptr),
            RefusalKind::kRelayDenied);
  EXPECT_EQ(classify_refusal(reply(551, "", "User not local; relaying not permitted"), nullptr),
            RefusalKind::kRelayDenied);
  EXPECT_EQ(classify_refusal(reply(550, "5.1.1", "<x@y>: Recipient address rejected"), nullptr),
            RefusalKind::kUnknownUser);
  EXPECT_EQ(
      classify_refusal(reply(550, "", "Requested action not taken: mailbox unavailable"), nullptr),
      RefusalKind::kUnknownUser);
  std::string list;
  EXPECT_EQ(classify_refusal(reply(554, "5.7.1",
                                   "Service unavailable; Client host [203.0.113.7] blocked "
                                   "using zen.spamhaus.org"),
                             &list),
            RefusalKind::kBlocklisted);
  EXPECT_EQ(list, "Spamhaus");
  // Accepted recipients and temporary failures without those words are nothing.
  EXPECT_EQ(classify_refusal(reply(250, "2.1.5", "Ok"), nullptr), RefusalKind::kNone);
  EXPECT_EQ(classify_refusal(reply(452, "4.2.2", "Mailbox full"), nullptr), RefusalKind::kNone);
  // A relay word in a success reply is not a refusal.
  EXPECT_EQ(classify_refusal(reply(250, "", "relay ok"), nullptr), RefusalKind::kNone);
}

TEST(SpamDetector, RelayDenialFiresWithEvidence) {
  SpamDetector detector;
  detector.on_exchange(
      context("10.0.0.66", 7),
      rcpt("victim@example.org", reply(554, "5.7.1", "<victim@example.org>: Relay access denied")));
  auto events = detector.take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].rule, rule_id::kRelayingDenied);
  EXPECT_EQ(events[0].host.to_string(), "10.0.0.66");
  EXPECT_EQ(events[0].connection_id, 7u);
  EXPECT_EQ(events[0].severity, Severity::kHigh);
  EXPECT_EQ(events[0].evidence, "554 5.7.1 <victim@example.org>: Relay access denied");
}

TEST(SpamDetector, OneMistypedAddressIsNotASuspect) {
  SpamDetector detector;
  auto c = context("10.0.0.10");
  detector.on_exchange(c, rcpt("bob@example.org", reply(250, "2.1.5", "Ok", 0)));
  detector.on_exchange(c, rcpt("alcie@example.org", reply(550, "5.1.1", "User unknown", 1)));
  detector.on_exchange(c, rcpt("carol@example.org", reply(250, "2.1.5", "Ok", 2)));
  EXPECT_TRUE(detector.take_events().empty());
}

TEST(SpamDetector, RunOfUnknownRecipientsFiresOnceAtTheThreshold) {
  SpamDetector detector;  // defaults: 5 refusals, at least half of the RCPTs, 1 hour
  auto c = context("10.0.0.66");
  detector.on_exchange(c, rcpt("real@example.org", reply(250, "2.1.5", "Ok", 0)));
  for (int i = 1; i <= 4; ++i) {
    detector.on_exchange(c, rcpt("dead" + std::to_string(i) + "@example.org",
                                 reply(550, "5.1.1", "User unknown", i)));
  }
  EXPECT_TRUE(detector.take_events().empty()) << "4 refusals are below the threshold";
  detector.on_exchange(c, rcpt("dead5@example.org", reply(550, "5.1.1", "User unknown", 5)));
  auto events = detector.take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].rule, rule_id::kUnknownRecipients);
  EXPECT_EQ(events[0].summary, "5 of 6 recipients refused as unknown within 60 min");
  // More refusals inside the same window do not repeat the event.
  detector.on_exchange(c, rcpt("dead6@example.org", reply(550, "5.1.1", "User unknown", 6)));
  EXPECT_TRUE(detector.take_events().empty());
}

TEST(SpamDetector, MailServerBouncingAFewOfManyIsNotASuspect) {
  SpamDetector detector;
  auto c = context("10.0.0.25");
  // 6 unknown users among 100 recipients: over the count, far under the share.
  for (int i = 0; i < 100; ++i) {
    bool dead = i % 16 == 0;
    detector.on_exchange(
        c, rcpt("u" + std::to_string(i) + "@example.org",
                dead ? reply(550, "5.1.1", "User unknown", i) : reply(250, "2.1.5", "Ok", i)));
  }
  EXPECT_TRUE(detector.take_events().empty());
}

TEST(SpamDetector, RefusalsOutsideTheWindowDoNotAddUp) {
  SpamDetector detector;
  auto c = context("10.0.0.12");
  // One refusal every 20 minutes: never 5 within an hour.
  for (int i = 0; i < 10; ++i) {
    detector.on_exchange(c, rcpt("x@example.org", reply(550, "5.1.1", "User unknown", i * 1200)));
  }
  EXPECT_TRUE(detector.take_events().empty());
}

TEST(SpamDetector, BlocklistCitationNamesTheClientsOwnAddress) {
  SpamDetector detector;
  auto c = context("203.0.113.7", 9);
  detector.on_greeting(c, reply(554, "5.7.1",
                                "Service unavailable; Client host [203.0.113.7] blocked using "
                                "zen.spamhaus.org; https://www.spamhaus.org/query/ip/203.0.113.7"));
  // A second citation on the same connection is the same finding.
  detector.on_exchange(c, rcpt("a@b.example", reply(554, "", "blocked using bl.spamcop.net")));
  auto events = detector.take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].rule, rule_id::kBlocklistedByReceiver);
  EXPECT_NE(events[0].summary.find("Spamhaus"), std::string::npos);
  EXPECT_NE(events[0].summary.find("client's own address"), std::string::npos);
}

TEST(SpamDetector, BlocklistCitationOfAnotherAddressSaysNothingAboutOwnAddress) {
  SpamDetector detector;
  auto c = context("203.0.113.70", 9);
  detector.on_greeting(c,
                       reply(554, "", "Client host [203.0.113.7] blocked using zen.spamhaus.org"));
  auto events = detector.take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].summary.find("own address"), std::string::npos);
}

TEST(RuleCatalog, IdsAreUniqueAndTheSliceRulesAreActive) {
  std::set<int> ids;
  for (const auto& rule : rule_catalog()) EXPECT_TRUE(ids.insert(rule.id).second);
  for (int id : {4122, 4123, 4124}) {
    ASSERT_NE(find_rule(id), nullptr);
    EXPECT_TRUE(find_rule(id)->implemented);
  }
}

}  // namespace
}  // namespace spamtap
