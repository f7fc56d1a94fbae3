// Rules 4125-4127, 4184 and 4185, each with the cases that must not fire.
#include <gtest/gtest.h>

#include "detect/catalog.hpp"
#include "detect/spam_detector.hpp"

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

SmtpContext outbound(const char* client, const char* server, uint64_t id, uint16_t port = 25) {
  SmtpContext c;
  c.connection_id = id;
  c.client = *IpAddress::parse(client);
  c.server = *IpAddress::parse(server);
  c.server_port = port;
  c.client_local = c.client.to_string().rfind("10.", 0) == 0;
  c.server_local = c.server.to_string().rfind("10.", 0) == 0;
  return c;
}

int count_rule(const std::vector<Event>& events, int rule) {
  int n = 0;
  for (const auto& e : events) n += e.rule == rule;
  return n;
}

smtp::SessionSummary summary(const std::string& helo, bool quit) {
  smtp::SessionSummary s;
  s.helo = helo;
  s.quit_sent = quit;
  s.greeting = reply(220, "", "mx ESMTP");
  return s;
}

TEST(Rule4125, EndOfDataRefusedAsSpam) {
  SpamDetector detector;
  smtp::Transaction t;
  t.end_of_data_reply = reply(550, "5.7.1", "Message rejected as spam by Content Filtering");
  detector.on_transaction(outbound("10.0.0.66", "198.51.100.1", 1), t);
  auto events = detector.take_events();
  ASSERT_EQ(count_rule(events, rule_id::kRefusedAsSpam), 1);
  EXPECT_EQ(events[0].evidence, "550 5.7.1 Message rejected as spam by Content Filtering");

  // A full mailbox or an accepted message is nothing.
  t.end_of_data_reply = reply(552, "5.2.2", "Mailbox full");
  detector.on_transaction(outbound("10.0.0.66", "198.51.100.1", 2), t);
  t.end_of_data_reply = reply(250, "2.0.0", "Ok: queued as ABC");
  detector.on_transaction(outbound("10.0.0.66", "198.51.100.1", 3), t);
  EXPECT_TRUE(detector.take_events().empty());
}

TEST(Rule4126, FanOutToMoreThanFiveOutsideServersFires) {
  SpamDetector detector;  // more than 5 distinct outside servers within an hour
  for (int i = 1; i <= 5; ++i) {
    std::string server = "198.51.100." + std::to_string(i);
    detector.on_greeting(outbound("10.0.0.66", server.c_str(), static_cast<uint64_t>(i)),
                         reply(220, "", "mx ESMTP", i));
  }
  EXPECT_EQ(count_rule(detector.take_events(), rule_id::kDirectToMxFanOut), 0)
      << "5 servers is not more than 5";
  detector.on_greeting(outbound("10.0.0.66", "198.51.100.6", 6), reply(220, "", "mx", 6));
  auto events = detector.take_events();
  ASSERT_EQ(count_rule(events, rule_id::kDirectToMxFanOut), 1);
  EXPECT_NE(events[0].summary.find("6 distinct outside servers"), std::string::npos);
}

TEST(Rule4126, LocalMailServerIsExempt) {
  SpamDetector detector;
  // 10.0.0.25 greets a client on port 25 itself: it is a mail server.
  detector.on_greeting(outbound("198.51.100.99", "10.0.0.25", 100), reply(220, "", "mx", 0));
  for (int i = 1; i <= 20; ++i) {
    std::string server = "198.51.100." + std::to_string(i);
    detector.on_greeting(outbound("10.0.0.25", server.c_str(), static_cast<uint64_t>(i)),
                         reply(220, "", "mx ESMTP", i));
  }
  EXPECT_EQ(count_rule(detector.take_events(), rule_id::kDirectToMxFanOut), 0);
}

TEST(Rule4126, DeclaredMailServerAndSlowSendersAreExempt) {
  DetectionSettings settings;
  settings.mail_servers.push_back(*IpAddress::parse("10.0.0.26"));
  SpamDetector detector(settings);
  for (int i = 1; i <= 20; ++i) {
    std::string server = "198.51.100." + std::to_string(i);
    detector.on_greeting(outbound("10.0.0.26", server.c_str(), static_cast<uint64_t>(i)),
                         reply(220, "", "mx", i));
    // Another desktop mails one new server every 20 minutes: never 6 within an hour.
    detector.on_greeting(outbound("10.0.0.30", server.c_str(), static_cast<uint64_t>(100 + i)),
                         reply(220, "", "mx", i * 1200));
  }
  EXPECT_EQ(count_rule(detector.take_events(), rule_id::kDirectToMxFanOut), 0);
}

TEST(Rule4127, GreylistingFiresOncePerConnection) {
  SpamDetector detector;
  smtp::Exchange e;
  e.verb = "RCPT";
  e.argument = "TO:<a@b.example>";
  e.reply = reply(450, "4.7.1",
                  "<a@b.example>: Recipient address rejected: Greylisted, see "
                  "http://postgrey.schweikert.ch/");
  detector.on_exchange(outbound("10.0.0.66", "198.51.100.1", 1), e);
  detector.on_exchange(outbound("10.0.0.66", "198.51.100.1", 1), e);
  EXPECT_EQ(count_rule(detector.take_events(), rule_id::kThrottled), 1);
  // A temporary failure that says nothing of rate or greylisting is nothing.
  e.reply = reply(451, "4.3.0", "Temporary local problem");
  detector.on_exchange(outbound("10.0.0.66", "198.51.100.1", 2), e);
  EXPECT_EQ(count_rule(detector.take_events(), rule_id::kThrottled), 0);
}

TEST(HeloHabits, NamesEachHabit) {
  auto client = *IpAddress::parse("10.0.0.66");
  EXPECT_EQ(helo_habits("mail.example.org", client), std::vector<std::string>{});
  EXPECT_EQ(helo_habits("[10.0.0.66]", client), std::vector<std::string>{});
  EXPECT_EQ(helo_habits("10.0.0.66", client), std::vector<std::string>{"bare_ip_helo"});
  EXPECT_EQ(helo_habits("[192.0.2.1]", client), std::vector<std::string>{"helo_ip_not_own"});
  EXPECT_EQ(helo_habits("192.0.2.1", client),
            (std::vector<std::string>{"helo_ip_not_own", "bare_ip_helo"}));
  EXPECT_EQ(helo_habits("DESKTOP", client), std::vector<std::string>{"helo_not_a_name"});
  EXPECT_EQ(helo_habits("a b", client), std::vector<std::string>{"helo_not_a_name"});
}

TEST(Rule4184, StrongHabitFiresAndWeakAloneDoesNot) {
  SpamDetector detector;
  auto s = summary("198.51.100.200", true);  // an address that is not its own
  detector.on_session_end(outbound("10.0.0.66", "198.51.100.1", 1), s, seconds(10));
  auto events = detector.take_events();
  ASSERT_EQ(count_rule(events, rule_id::kBotLikeClient), 1);
  EXPECT_NE(events[0].evidence.find("helo_ip_not_own"), std::string::npos);

  // One weak habit (a HELO that is not a name) is an ordinary misconfigured client.
  SpamDetector quiet;
  quiet.on_session_end(outbound("10.0.0.67", "198.51.100.1", 2), summary("DESKTOP", true),
                       seconds(10));
  EXPECT_TRUE(quiet.take_events().empty());
}

TEST(Rule4184, PipeliningWithoutExtensionAndTalkingFirstAreStrong) {
  SpamDetector detector;
  auto s = summary("mail.example.org", true);
  s.pipelined_without_extension = true;
  detector.on_session_end(outbound("10.0.0.66", "198.51.100.1", 1), s, seconds(10));
  EXPECT_EQ(count_rule(detector.take_events(), rule_id::kBotLikeClient), 1);
  SpamDetector second;
  s = summary("mail.example.org", true);
  s.client_spoke_first = true;
  second.on_session_end(outbound("10.0.0.68", "198.51.100.1", 1), s, seconds(10));
  EXPECT_EQ(count_rule(second.take_events(), rule_id::kBotLikeClient), 1);
}

TEST(Rule4184, NoQuitAfterRefusalPlusBareIpFires) {
  SpamDetector detector;
  auto context = outbound("10.0.0.66", "198.51.100.1", 1);
  smtp::Exchange e;
  e.verb = "RCPT";
  e.reply = reply(550, "5.1.1", "User unknown");
  detector.on_exchange(context, e);
  detector.on_session_end(context, summary("10.0.0.66", false), seconds(10));
  auto events = detector.take_events();
  ASSERT_EQ(count_rule(events, rule_id::kBotLikeClient), 1);
  EXPECT_NE(events.back().evidence.find("no_quit_after_refusal"), std::string::npos);
  EXPECT_NE(events.back().evidence.find("bare_ip_helo"), std::string::npos);
}

TEST(Rule4184, SubmissionToOwnServerIsNotJudged) {
  SpamDetector detector;
  auto s = summary("192.0.2.77", false);  // odd HELO, but on 587 with AUTH: a user
  s.auth_mechanism = "PLAIN";
  s.auth_result_code = 235;
  detector.on_session_end(outbound("10.0.0.66", "10.0.0.25", 1, 587), s, seconds(10));
  EXPECT_TRUE(detector.take_events().empty());
}

TEST(Rule4185, BulkMailerFiresOrdinaryClientOnlyRecorded) {
  SpamDetector detector;
  smtp::Transaction t;
  t.x_mailer = "Atomic Mail Sender 9.52";
  detector.on_transaction(outbound("10.0.0.66", "198.51.100.1", 1), t);
  auto events = detector.take_events();
  ASSERT_EQ(count_rule(events, rule_id::kBulkMailClient), 1);
  EXPECT_EQ(events[0].evidence, "x-mailer: Atomic Mail Sender 9.52");
  auto software = detector.take_software();
  ASSERT_EQ(software.size(), 1u);
  EXPECT_EQ(software[0].name, "Atomic Mail Sender 9.52");
  EXPECT_EQ(software[0].role, "client");

  t.x_mailer = "";
  t.user_agent = "Mozilla/5.0 (Windows NT 10.0; rv:115.0) Thunderbird/115.3.1";
  detector.on_transaction(outbound("10.0.0.67", "198.51.100.1", 2), t);
  EXPECT_TRUE(detector.take_events().empty());
  ASSERT_EQ(detector.take_software().size(), 1u);
}

TEST(Rule4185, OrdinaryClientBehavingLikeABotIsCalledOut) {
  SpamDetector detector;
  auto context = outbound("10.0.0.66", "198.51.100.1", 1);
  smtp::Transaction t;
  t.x_mailer = "Microsoft Outlook 16.0";
  detector.on_transaction(context, t);
  auto s = summary("198.51.100.250", true);
  s.pipelined_without_extension = true;
  detector.on_session_end(context, s, seconds(10));
  auto events = detector.take_events();
  EXPECT_EQ(count_rule(events, rule_id::kBotLikeClient), 1);
  EXPECT_EQ(count_rule(events, rule_id::kBulkMailClient), 1);
}

TEST(RuleCatalog, EveryCatalogRuleIsActive) {
  for (int id : {4122, 4123, 4124, 4125, 4126, 4127, 4184, 4185}) {
    ASSERT_NE(find_rule(id), nullptr) << id;
    EXPECT_TRUE(find_rule(id)->implemented) << id;
  }
}

}  // namespace
}  // namespace spamtap
