// Tests of the SMTP analyzer: scripted conversations (client and server bytes, gaps) fed
// to an SmtpSession whole, byte by byte and in random chunks. Expected values are worked
// out by hand from the script in each test.
#include <gtest/gtest.h>

#include <algorithm>

#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "smtp/session.hpp"

namespace spamtap::smtp::testing {

struct Step {
  enum class Kind { Client, Server, ClientGap, ServerGap } kind;
  std::string bytes;
  uint64_t gap = 0;
};

inline Step client(std::string bytes) { return {Step::Kind::Client, std::move(bytes)}; }
inline Step server(std::string bytes) { return {Step::Kind::Server, std::move(bytes)}; }
inline Step client_gap(uint64_t n) { return {Step::Kind::ClientGap, {}, n}; }
inline Step server_gap(uint64_t n) { return {Step::Kind::ServerGap, {}, n}; }

struct Outcome {
  std::vector<Transaction> transactions;
  std::vector<Exchange> exchanges;
  std::vector<Anomaly> anomalies;
  SessionSummary summary;
  bool looks_like_smtp = false;
  bool finished_parsing = false;

  int count(const std::string& anomaly) const {
    int n = 0;
    for (const auto& a : anomalies) n += a.name == anomaly;
    return n;
  }
};

inline std::span<const uint8_t> as_bytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// chunk == 0: each step whole; chunk == 1: byte by byte; otherwise random sizes 1..chunk.
inline Outcome run(const std::vector<Step>& script, size_t chunk = 0, uint32_t seed = 1,
                   Limits limits = {}, bool call_end = true) {
  SmtpSession session(limits);
  std::mt19937 random(seed);
  Outcome out;
  auto collect = [&] {
    for (auto& t : session.take_transactions()) out.transactions.push_back(std::move(t));
    for (auto& e : session.take_exchanges()) out.exchanges.push_back(std::move(e));
    for (auto& a : session.take_anomalies()) out.anomalies.push_back(std::move(a));
  };

  Timestamp time = 1000;
  for (const Step& step : script) {
    time += 1000;
    if (step.kind == Step::Kind::ClientGap) session.client_gap(time, step.gap);
    if (step.kind == Step::Kind::ServerGap) session.server_gap(time, step.gap);
    if (step.kind == Step::Kind::ClientGap || step.kind == Step::Kind::ServerGap) continue;

    auto bytes = as_bytes(step.bytes);
    while (!bytes.empty()) {
      size_t n = bytes.size();
      if (chunk == 1) n = 1;
      if (chunk > 1) n = std::min<size_t>(bytes.size(), 1 + random() % chunk);
      if (step.kind == Step::Kind::Client) session.client_data(time, bytes.first(n));
      if (step.kind == Step::Kind::Server) session.server_data(time, bytes.first(n));
      bytes = bytes.subspan(n);
    }
    collect();
  }
  if (call_end) session.end(time + 1000);
  collect();
  out.summary = session.summary();
  out.looks_like_smtp = session.looks_like_smtp();
  out.finished_parsing = session.finished_parsing();
  return out;
}

inline void describe_reply(std::ostream& out, const Reply& r) {
  out << "[" << r.time << " " << r.code << " " << r.enhanced_status << " '" << r.text << "' "
      << r.line_count << "]";
}

// Everything reported, as text: two runs agree when their renderings are equal.
inline std::string describe(const Outcome& o) {
  std::ostringstream out;
  const auto& s = o.summary;
  out << "greeting ";
  describe_reply(out, s.greeting);
  out << "\nhelo " << s.helo << " ext";
  for (const auto& e : s.extensions) out << " " << e;
  out << "\nflags " << s.client_spoke_first << s.pipelined_without_extension << s.starttls
      << s.quit_sent << " auth " << s.auth_mechanism << " " << s.auth_result_code << " gaps "
      << s.gap_bytes_client << "/" << s.gap_bytes_server << " dropped " << s.results_dropped
      << " smtp " << o.looks_like_smtp << o.finished_parsing << "\n";
  for (const auto& e : o.exchanges) {
    out << "exchange " << e.time << " " << e.verb << " '" << e.argument << "' ";
    describe_reply(out, e.reply);
    out << "\n";
  }
  for (const auto& t : o.transactions) {
    out << "transaction " << t.time << " helo " << t.helo << " from " << t.mail_from << " ";
    describe_reply(out, t.mail_reply);
    for (const auto& r : t.recipients) {
      out << "\n  rcpt " << r.address << " ";
      describe_reply(out, r.reply);
    }
    out << "\n  data " << t.data_sent << " ";
    describe_reply(out, t.data_reply);
    describe_reply(out, t.end_of_data_reply);
    out << " bytes " << t.message_bytes << " chunks " << t.bdat_chunks << " unkept "
        << t.unkept_recipients << "/" << t.unkept_accepted << "/" << t.unkept_refused
        << "\n  headers '" << t.x_mailer << "' '" << t.user_agent << "' '" << t.message_id
        << "' '" << t.date << "' '" << t.subject << "'\n";
  }
  for (const auto& a : o.anomalies) out << "anomaly " << a.name << " " << a.detail << "\n";
  return out.str();
}

// Every string the session handed out, for checks that something is nowhere.
inline std::vector<std::string> all_strings(const Outcome& o) {
  std::vector<std::string> all;
  auto reply = [&](const Reply& r) {
    all.push_back(r.text);
    all.push_back(r.enhanced_status);
  };
  const auto& s = o.summary;
  reply(s.greeting);
  all.push_back(s.helo);
  all.push_back(s.auth_mechanism);
  for (const auto& e : s.extensions) all.push_back(e);
  for (const auto& e : o.exchanges) {
    all.push_back(e.verb);
    all.push_back(e.argument);
    reply(e.reply);
  }
  for (const auto& t : o.transactions) {
    for (const auto* text : {&t.helo, &t.mail_from, &t.x_mailer, &t.user_agent, &t.message_id,
                             &t.date, &t.subject}) {
      all.push_back(*text);
    }
    reply(t.mail_reply);
    reply(t.data_reply);
    reply(t.end_of_data_reply);
    for (const auto& r : t.recipients) {
      all.push_back(r.address);
      reply(r.reply);
    }
  }
  for (const auto& a : o.anomalies) {
    all.push_back(a.name);
    all.push_back(a.detail);
  }
  return all;
}

}  // namespace spamtap::smtp::testing

namespace spamtap::smtp::testing {
namespace {

const std::string kGreeting = "220 mx.example.org ESMTP ready\r\n";
const std::string kEhloPipelining =
    "250-mx.example.org hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n";
const std::string kEhloPlain = "250-mx.example.org hello\r\n250 8BITMIME\r\n";

std::vector<Step> simple_session() {
  return {
      server(kGreeting),
      client("EHLO client.example\r\n"),
      server(kEhloPipelining),
      client("MAIL FROM:<alice@example.com> SIZE=120\r\n"),
      server("250 2.1.0 Ok\r\n"),
      client("RCPT TO:<bob@example.org>\r\n"),
      server("250 2.1.5 Ok\r\n"),
      client("DATA\r\n"),
      server("354 End data with <CR><LF>.<CR><LF>\r\n"),
      client("Subject: hi\r\nX-Mailer: TestMailer 1.0\r\n\r\nHello Bob\r\n.\r\n"),
      server("250 2.0.0 Ok: queued as ABC\r\n"),
      client("QUIT\r\n"),
      server("221 2.0.0 Bye\r\n"),
  };
}

TEST(SmtpSession, SimpleSessionIsFollowedToTheEnd) {
  Outcome o = run(simple_session());

  EXPECT_TRUE(o.looks_like_smtp);
  EXPECT_EQ(o.summary.greeting.code, 220);
  EXPECT_EQ(o.summary.greeting.text, "mx.example.org ESMTP ready");
  EXPECT_EQ(o.summary.helo, "client.example");
  EXPECT_EQ(o.summary.extensions, (std::vector<std::string>{"PIPELINING", "SIZE", "8BITMIME"}));
  EXPECT_TRUE(o.summary.quit_sent);
  EXPECT_FALSE(o.summary.client_spoke_first);
  EXPECT_FALSE(o.summary.pipelined_without_extension);
  EXPECT_TRUE(o.anomalies.empty()) << describe(o);

  ASSERT_EQ(o.exchanges.size(), 5u);
  EXPECT_EQ(o.exchanges[0].verb, "EHLO");
  EXPECT_EQ(o.exchanges[0].reply.text,
            "mx.example.org hello | PIPELINING | SIZE 10240000 | 8BITMIME");
  EXPECT_EQ(o.exchanges[1].verb, "MAIL");
  EXPECT_EQ(o.exchanges[1].argument, "FROM:<alice@example.com> SIZE=120");
  EXPECT_EQ(o.exchanges[3].verb, "DATA");
  EXPECT_EQ(o.exchanges[3].reply.code, 354);
  EXPECT_EQ(o.exchanges[4].verb, "QUIT");
  EXPECT_EQ(o.exchanges[4].reply.code, 221);

  ASSERT_EQ(o.transactions.size(), 1u);
  const Transaction& t = o.transactions[0];
  EXPECT_EQ(t.helo, "client.example");
  EXPECT_EQ(t.mail_from, "alice@example.com");
  EXPECT_EQ(t.mail_reply.code, 250);
  EXPECT_EQ(t.mail_reply.enhanced_status, "2.1.0");
  ASSERT_EQ(t.recipients.size(), 1u);
  EXPECT_EQ(t.recipients[0].address, "bob@example.org");
  EXPECT_EQ(t.recipients[0].reply.code, 250);
  EXPECT_TRUE(t.data_sent);
  EXPECT_EQ(t.data_reply.code, 354);
  EXPECT_EQ(t.end_of_data_reply.code, 250);
  EXPECT_EQ(t.end_of_data_reply.enhanced_status, "2.0.0");
  EXPECT_EQ(t.end_of_data_reply.text, "2.0.0 Ok: queued as ABC");
  // "Subject: hi\r\n" 13 + "X-Mailer: TestMailer 1.0\r\n" 26 + "\r\n" 2 + "Hello Bob\r\n" 11
  EXPECT_EQ(t.message_bytes, 52u);
  EXPECT_EQ(t.subject, "hi");
  EXPECT_EQ(t.x_mailer, "TestMailer 1.0");
  EXPECT_EQ(t.accepted_recipients(), 1);
  EXPECT_EQ(t.refused_recipients(), 0);
}

TEST(SmtpSession, TransactionIsHandedOutWhenTheEndOfDataIsAnswered) {
  SmtpSession session;
  auto feed_server = [&](const std::string& s) { session.server_data(1, as_bytes(s)); };
  auto feed_client = [&](const std::string& s) { session.client_data(1, as_bytes(s)); };
  feed_server(kGreeting);
  feed_client("HELO a\r\nMAIL FROM:<a@b>\r\n");
  feed_server("250 hi\r\n250 ok\r\n");
  feed_client("RCPT TO:<c@d>\r\nDATA\r\n");
  feed_server("250 ok\r\n354 go\r\n");
  feed_client("x\r\n.\r\n");
  EXPECT_TRUE(session.take_transactions().empty());  // end of data not answered yet
  feed_server("250 queued\r\n");
  EXPECT_EQ(session.take_transactions().size(), 1u);
}

std::vector<Step> pipelined_session() {
  return {
      server(kGreeting),
      client("EHLO pipe.example\r\n"),
      server(kEhloPipelining),
      client("MAIL FROM:<s@x.com>\r\nRCPT TO:<a@y.com>\r\nRCPT TO:<b@y.com>\r\n"
             "RCPT TO:<c@y.com>\r\nDATA\r\n"),
      server("250 ok\r\n250 a ok\r\n550 5.1.1 <b@y.com>: Recipient address rejected: "
             "User unknown\r\n250 c ok\r\n354 go ahead\r\n"),
      client("From: s@x.com\r\nSubject: offer\r\n\r\n..dot\r\nbody\r\n.\r\n"),
      server("250 2.0.0 queued\r\n"),
      client("QUIT\r\n"),
      server("221 bye\r\n"),
  };
}

void expect_same_at_every_split(const std::vector<Step>& script) {
  std::string whole = describe(run(script));
  EXPECT_EQ(describe(run(script, 1)), whole) << "byte by byte";
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    for (size_t chunk : {2u, 3u, 7u, 16u}) {
      ASSERT_EQ(describe(run(script, chunk, seed)), whole) << "seed " << seed << " chunk " << chunk;
    }
  }
}

TEST(SmtpSession, EverySplitOfTheStreamGivesTheSameResult) {
  expect_same_at_every_split(simple_session());
  expect_same_at_every_split(pipelined_session());
}

TEST(SmtpSession, MultiLineEhloReplySplitAcrossCalls) {
  Outcome o = run({
      server(kGreeting),
      client("EHLO c\r\n"),
      server("250-mx hello\r\n250-PIPE"),
      server("LINING\r\n250-AUTH PLAIN LOGIN\r"),
      server("\n250 SIZE 100\r\n"),
  });
  EXPECT_EQ(o.summary.extensions, (std::vector<std::string>{"PIPELINING", "AUTH", "SIZE"}));
  ASSERT_EQ(o.exchanges.size(), 1u);
  EXPECT_EQ(o.exchanges[0].reply.code, 250);
  EXPECT_EQ(o.exchanges[0].reply.text, "mx hello | PIPELINING | AUTH PLAIN LOGIN | SIZE 100");
}

TEST(SmtpSession, PipelinedRepliesAreMatchedInOrder) {
  Outcome o = run(pipelined_session());
  EXPECT_FALSE(o.summary.pipelined_without_extension);
  ASSERT_EQ(o.transactions.size(), 1u);
  const Transaction& t = o.transactions[0];
  EXPECT_EQ(t.mail_reply.code, 250);
  ASSERT_EQ(t.recipients.size(), 3u);
  EXPECT_EQ(t.recipients[0].address, "a@y.com");
  EXPECT_EQ(t.recipients[0].reply.text, "a ok");
  EXPECT_EQ(t.recipients[1].address, "b@y.com");
  EXPECT_EQ(t.recipients[1].reply.code, 550);
  EXPECT_EQ(t.recipients[1].reply.enhanced_status, "5.1.1");
  EXPECT_EQ(t.recipients[2].reply.text, "c ok");
  EXPECT_EQ(t.accepted_recipients(), 2);
  EXPECT_EQ(t.refused_recipients(), 1);
  EXPECT_EQ(t.data_reply.code, 354);
  EXPECT_EQ(t.end_of_data_reply.code, 250);
  EXPECT_EQ(t.subject, "offer");
  // "From: s@x.com\r\n" 15 + "Subject: offer\r\n" 16 + "\r\n" 2 + ".dot\r\n" 6 + "body\r\n" 6
  EXPECT_EQ(t.message_bytes, 45u);
  EXPECT_EQ(o.exchanges.size(), 7u);  // EHLO MAIL RCPT RCPT RCPT DATA QUIT
}

TEST(SmtpSession, PipeliningWithoutTheExtensionIsFlagged) {
  Outcome o = run({
      server(kGreeting),
      client("EHLO bot\r\n"),
      server(kEhloPlain),
      client("MAIL FROM:<s@x.com>\r\nRCPT TO:<a@y.com>\r\n"),
      server("250 ok\r\n250 ok\r\n"),
  });
  EXPECT_TRUE(o.summary.pipelined_without_extension);
  EXPECT_EQ(o.count("pipelining_without_extension"), 1);
  ASSERT_EQ(o.transactions.size(), 1u);
  EXPECT_EQ(o.transactions[0].recipients[0].reply.code, 250);
}

TEST(SmtpSession, RefusedPipelinedDataLeavesFollowingBytesAsCommands) {
  std::vector<Step> script = {
      server(kGreeting),
      client("EHLO pipe\r\n"),
      server(kEhloPipelining),
      client("MAIL FROM:<s@x>\r\nRCPT TO:<a@y>\r\nDATA\r\n"),
      client("RSET\r\nQUIT\r\n"),
      server("250 ok\r\n550 5.1.1 no such user\r\n554 5.5.1 Error: no valid recipients\r\n"
             "250 reset\r\n221 bye\r\n"),
  };
  for (size_t chunk : {0u, 1u, 5u}) {
    Outcome o = run(script, chunk, 7);
    ASSERT_EQ(o.transactions.size(), 1u) << describe(o);
    const Transaction& t = o.transactions[0];
    EXPECT_EQ(t.data_reply.code, 554);
    EXPECT_FALSE(t.data_sent);
    EXPECT_EQ(t.message_bytes, 0u);
    EXPECT_EQ(t.end_of_data_reply.code, 0);
    EXPECT_EQ(t.refused_recipients(), 1);
    ASSERT_EQ(o.exchanges.size(), 6u);
    EXPECT_EQ(o.exchanges[4].verb, "RSET");
    EXPECT_EQ(o.exchanges[4].reply.code, 250);
    EXPECT_EQ(o.exchanges[5].verb, "QUIT");
    EXPECT_EQ(o.exchanges[5].reply.code, 221);
    EXPECT_TRUE(o.summary.quit_sent);
    EXPECT_FALSE(o.summary.pipelined_without_extension);
  }
}

TEST(SmtpSession, BodySentBefore354IsHeldAndReadAsContent) {
  Outcome o = run({
      server(kGreeting),
      client("EHLO pipe\r\n"),
      server(kEhloPipelining),
      client("MAIL FROM:<s@x>\r\nRCPT TO:<a@y>\r\nDATA\r\nSubject: early\r\n\r\nhi\r\n.\r\n"),
      server("250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n"),
  });
  ASSERT_EQ(o.transactions.size(), 1u) << describe(o);
  const Transaction& t = o.transactions[0];
  EXPECT_EQ(t.subject, "early");
  EXPECT_EQ(t.message_bytes, 22u);  // "Subject: early\r\n" 16 + "\r\n" 2 + "hi\r\n" 4
  EXPECT_EQ(o.count("content_before_354"), 1);
}


// Opens a transaction and gets DATA accepted; the message content follows.
std::vector<Step> up_to_354() {
  return {
      server(kGreeting),         client("EHLO c\r\n"),
      server(kEhloPipelining),   client("MAIL FROM:<s@x>\r\n"),
      server("250 ok\r\n"),      client("RCPT TO:<r@y>\r\n"),
      server("250 ok\r\n"),      client("DATA\r\n"),
      server("354 go\r\n"),
  };
}

std::vector<Step> with(std::vector<Step> script, const std::vector<Step>& more) {
  script.insert(script.end(), more.begin(), more.end());
  return script;
}

TEST(SmtpSession, EndOfDataDotMayStartANewCall) {
  Outcome o = run(with(up_to_354(), {client("hello\r\n"), client(".\r\n"), server("250 ok\r\n"),
                                     client("QUIT\r\n")}));
  ASSERT_EQ(o.transactions.size(), 1u);
  EXPECT_EQ(o.transactions[0].end_of_data_reply.code, 250);
  EXPECT_EQ(o.transactions[0].message_bytes, 7u);
  EXPECT_EQ(o.exchanges.back().verb, "QUIT");

  Outcome split = run(with(up_to_354(), {client("hello\r"), client("\n."), client("\r"),
                                         client("\n"), server("250 ok\r\n")}));
  ASSERT_EQ(split.transactions.size(), 1u);
  EXPECT_EQ(split.transactions[0].end_of_data_reply.code, 250);
  EXPECT_EQ(split.transactions[0].message_bytes, 7u);
}

TEST(SmtpSession, BareLineFeedBeforeDotIsNotTheEnd) {
  Outcome o = run(with(up_to_354(), {client("line one\n.\r\nstill body\r\n.\r\n"),
                                     server("250 ok\r\n")}));
  EXPECT_EQ(o.count("bare_lf_before_dot"), 1);
  ASSERT_EQ(o.transactions.size(), 1u);
  EXPECT_EQ(o.transactions[0].end_of_data_reply.code, 250);
  // "line one\n" 9 + the unstuffed "." line "\r\n" 2 + "still body\r\n" 12
  EXPECT_EQ(o.transactions[0].message_bytes, 23u);
  EXPECT_TRUE(o.anomalies.size() == 1u) << describe(o);
}

TEST(SmtpSession, DotStuffedLinesAreBody) {
  Outcome o = run(with(up_to_354(), {client("..hidden\r\n..\r\n.\r\n"), server("250 ok\r\n"),
                                     client("QUIT\r\n"), server("221 bye\r\n")}));
  ASSERT_EQ(o.transactions.size(), 1u);
  EXPECT_EQ(o.transactions[0].message_bytes, 12u);  // ".hidden\r\n" 9 + ".\r\n" 3
  EXPECT_EQ(o.transactions[0].end_of_data_reply.code, 250);
  EXPECT_EQ(o.exchanges.back().reply.code, 221);
}

std::vector<Step> up_to_rcpt() {
  return {
      server(kGreeting),
      client("EHLO c\r\n"),
      server("250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n"),
      client("MAIL FROM:<s@x>\r\nRCPT TO:<r@y>\r\n"),
      server("250 ok\r\n250 ok\r\n"),
  };
}

TEST(SmtpSession, BdatChunksAreRawBytes) {
  // The second chunk holds ".\r\n" and "QUIT": raw bytes, neither an end nor a command.
  Outcome o = run(with(up_to_rcpt(),
                       {client("BDAT 20\r\nSubject: chunked\r\n\r\n"
                               "BDAT 13 LAST\r\nhi\r\n.\r\nQUIT\r\n"),
                        server("250 2.0.0 20 octets\r\n250 2.0.0 queued\r\n"),
                        client("QUIT\r\n"), server("221 bye\r\n")}));
  ASSERT_EQ(o.transactions.size(), 1u) << describe(o);
  const Transaction& t = o.transactions[0];
  EXPECT_TRUE(t.data_sent);
  EXPECT_EQ(t.bdat_chunks, 2u);
  EXPECT_EQ(t.message_bytes, 33u);
  EXPECT_EQ(t.subject, "chunked");
  EXPECT_EQ(t.data_reply.text, "2.0.0 20 octets");
  EXPECT_EQ(t.end_of_data_reply.text, "2.0.0 queued");
  ASSERT_EQ(o.exchanges.size(), 6u);  // EHLO MAIL RCPT BDAT BDAT QUIT
  EXPECT_EQ(o.exchanges[4].argument, "13 LAST");
  EXPECT_EQ(o.exchanges[5].verb, "QUIT");
  EXPECT_TRUE(o.anomalies.empty()) << describe(o);
  expect_same_at_every_split(with(up_to_rcpt(), {client("BDAT 3\r\nabcBDAT 2 LAST\r\nde"),
                                                 server("250 ok\r\n250 done\r\n")}));
}

TEST(SmtpSession, BdatZeroLastEndsTheMessage) {
  Outcome o = run(with(up_to_rcpt(), {client("BDAT 5\r\nhelloBDAT 0 LAST\r\n"),
                                      server("250 5 octets\r\n250 queued\r\n")}));
  ASSERT_EQ(o.transactions.size(), 1u);
  EXPECT_EQ(o.transactions[0].bdat_chunks, 2u);
  EXPECT_EQ(o.transactions[0].message_bytes, 5u);
  EXPECT_EQ(o.transactions[0].end_of_data_reply.text, "queued");
}

TEST(SmtpSession, BdatBadSizeFallsBackToCommands) {
  Outcome o = run(with(up_to_rcpt(), {client("BDAT -5\r\nBDAT 99999999999999999999999\r\n"
                                             "BDAT 12x\r\nNOOP\r\n"),
                                      server("501 bad\r\n501 bad\r\n501 bad\r\n250 ok\r\n")}));
  EXPECT_EQ(o.count("bdat_bad_size"), 3);
  ASSERT_EQ(o.exchanges.size(), 7u);
  EXPECT_EQ(o.exchanges[6].verb, "NOOP");
  EXPECT_EQ(o.exchanges[6].reply.code, 250);
}

TEST(SmtpSession, RefusedBdatChunkIsRecorded) {
  Outcome o = run(with(up_to_rcpt(), {client("BDAT 5\r\nhello"),
                                      server("552 5.3.4 message too big\r\n"),
                                      client("RSET\r\n"), server("250 ok\r\n")}));
  ASSERT_EQ(o.transactions.size(), 1u);
  EXPECT_EQ(o.transactions[0].data_reply.code, 552);
  EXPECT_EQ(o.transactions[0].data_reply.enhanced_status, "5.3.4");
  EXPECT_EQ(o.transactions[0].end_of_data_reply.code, 0);
}

TEST(SmtpSession, AcceptedStartTlsStopsParsing) {
  Outcome o = run({server(kGreeting), client("EHLO c\r\n"),
                   server("250-mx\r\n250 STARTTLS\r\n"), client("STARTTLS\r\n"),
                   server("220 2.0.0 Ready to start TLS\r\n"),
                   client(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc", 9)),
                   server(std::string("\x16\x03\x03\x00\x5a", 5))});
  EXPECT_TRUE(o.summary.starttls);
  EXPECT_TRUE(o.finished_parsing);
  EXPECT_TRUE(o.looks_like_smtp);
  EXPECT_EQ(o.count("not_smtp"), 0);
  ASSERT_EQ(o.exchanges.size(), 2u);
  EXPECT_EQ(o.exchanges[1].verb, "STARTTLS");
  EXPECT_EQ(o.exchanges[1].reply.code, 220);
}

TEST(SmtpSession, RefusedStartTlsKeepsParsing) {
  Outcome o = run({server(kGreeting), client("EHLO c\r\n"),
                   server("250-mx\r\n250 STARTTLS\r\n"), client("STARTTLS\r\n"),
                   server("454 4.7.0 TLS not available\r\n"), client("MAIL FROM:<a@b>\r\n"),
                   server("250 ok\r\n")},
                  0, 1, {}, false);
  EXPECT_FALSE(o.summary.starttls);
  EXPECT_FALSE(o.finished_parsing);
  ASSERT_EQ(o.exchanges.size(), 3u);
  EXPECT_EQ(o.exchanges[1].reply.code, 454);
  EXPECT_EQ(o.exchanges[2].verb, "MAIL");
}

bool contains_anywhere(const Outcome& o, const std::string& needle) {
  for (const auto& text : all_strings(o)) {
    if (text.find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST(SmtpSession, AuthLoginCredentialsAreNeverStored) {
  std::vector<Step> script = {
      server(kGreeting),
      client("EHLO c\r\n"),
      server("250-mx\r\n250 AUTH LOGIN PLAIN\r\n"),
      client("AUTH LOGIN\r\n"),
      server("334 VXNlcm5hbWU6\r\n"),
      client("dXNlcm5hbWU=\r\n"),
      server("334 UGFzc3dvcmQ6\r\n"),
      client("cGFzc3dvcmQ=\r\n"),
      server("235 2.7.0 Authentication successful\r\n"),
      client("MAIL FROM:<a@b>\r\n"),
      server("250 ok\r\n"),
  };
  Outcome o = run(script);
  EXPECT_EQ(o.summary.auth_mechanism, "LOGIN");
  EXPECT_EQ(o.summary.auth_result_code, 235);
  ASSERT_EQ(o.exchanges.size(), 5u);
  EXPECT_EQ(o.exchanges[1].argument, "LOGIN");
  EXPECT_EQ(o.exchanges[1].reply.code, 334);
  EXPECT_EQ(o.exchanges[2].argument, "(auth data)");
  EXPECT_EQ(o.exchanges[2].reply.code, 334);
  EXPECT_EQ(o.exchanges[3].argument, "(auth data)");
  EXPECT_EQ(o.exchanges[3].reply.code, 235);
  EXPECT_EQ(o.exchanges[4].verb, "MAIL");
  EXPECT_FALSE(contains_anywhere(o, "dXNlcm5hbWU"));
  EXPECT_FALSE(contains_anywhere(o, "cGFzc3dvcmQ"));
  EXPECT_FALSE(contains_anywhere(run(script, 1), "cGFzc3dvcmQ"));
}

TEST(SmtpSession, AuthPlainInitialResponseIsNeverStored) {
  Outcome o = run({server(kGreeting), client("EHLO c\r\n"), server("250 mx\r\n"),
                   client("AUTH PLAIN AHVzZXIAc2VjcmV0\r\n"),
                   server("535 5.7.8 Authentication credentials invalid\r\n"),
                   client("QUIT\r\n"), server("221 bye\r\n")});
  EXPECT_EQ(o.summary.auth_mechanism, "PLAIN");
  EXPECT_EQ(o.summary.auth_result_code, 535);
  ASSERT_EQ(o.exchanges.size(), 3u);
  EXPECT_EQ(o.exchanges[1].argument, "PLAIN (auth data)");
  EXPECT_EQ(o.exchanges[2].verb, "QUIT");
  EXPECT_FALSE(contains_anywhere(o, "AHVzZXIAc2VjcmV0"));
}

TEST(SmtpSession, GreetingEndingInBlocklistRefusalTakesTheFinalCode) {
  Outcome o = run({server("220-mx.example.net ESMTP\r\n220-Please wait\r\n554 5.7.1 Service "
                          "unavailable; Client host [192.0.2.1] blocked using "
                          "zen.spamhaus.org\r\n")});
  EXPECT_TRUE(o.looks_like_smtp);
  EXPECT_EQ(o.summary.greeting.code, 554);
  EXPECT_EQ(o.summary.greeting.enhanced_status, "5.7.1");
  EXPECT_EQ(o.summary.greeting.line_count, 3);
  EXPECT_EQ(o.summary.greeting.text,
            "mx.example.net ESMTP | Please wait | 5.7.1 Service unavailable; Client host "
            "[192.0.2.1] blocked using zen.spamhaus.org");
  EXPECT_EQ(o.count("reply_code_mismatch"), 1);
}

TEST(SmtpSession, ClientTalkingBeforeTheGreetingIsFlagged) {
  Outcome o = run({client("EHLO fast.bot\r\n"), server("220 mx ready\r\n"),
                   server("250 mx hello\r\n")});
  EXPECT_TRUE(o.summary.client_spoke_first);
  EXPECT_EQ(o.count("client_spoke_first"), 1);
  EXPECT_EQ(o.summary.greeting.code, 220);
  ASSERT_EQ(o.exchanges.size(), 1u);
  EXPECT_EQ(o.exchanges[0].reply.text, "mx hello");
}

TEST(SmtpSession, OtherProtocolsAreNotSmtp) {
  Outcome http_server = run({server("HTTP/1.1 400 Bad Request\r\n\r\n")});
  EXPECT_TRUE(http_server.finished_parsing);
  EXPECT_FALSE(http_server.looks_like_smtp);
  EXPECT_EQ(http_server.count("not_smtp"), 1);

  Outcome tls_server = run({server(std::string("\x16\x03\x03\x00\x4a\x02", 6))});
  EXPECT_TRUE(tls_server.finished_parsing);
  EXPECT_EQ(tls_server.count("not_smtp"), 1);

  Outcome http_client = run({server(kGreeting), client("GET / HTTP/1.1\r\nHost: x\r\n\r\n")});
  EXPECT_TRUE(http_client.finished_parsing);
  EXPECT_FALSE(http_client.looks_like_smtp);
  EXPECT_TRUE(http_client.exchanges.empty());

  Outcome tls_client = run({client(std::string("\x16\x03\x01\x02\x00\x01", 6))}, 1);
  EXPECT_TRUE(tls_client.finished_parsing);
  EXPECT_EQ(tls_client.count("not_smtp"), 1);
}

TEST(SmtpSession, OverlongLinesAreCutAndCountedOnce) {
  Limits limits;
  std::string long_name(10 * 1024, 'a');
  Outcome o = run({server(kGreeting), client("EHLO " + long_name + "\r\nMAIL FROM:<x@y>\r\n"),
                   server("250 " + std::string(10 * 1024, 'b') + "\r\n250 ok\r\n")},
                  1, 1, limits);
  EXPECT_EQ(o.count("line_too_long"), 2);  // one client line, one server line
  EXPECT_LE(o.summary.helo.size(), limits.max_text);
  ASSERT_EQ(o.exchanges.size(), 2u);
  EXPECT_EQ(o.exchanges[1].verb, "MAIL");
  EXPECT_EQ(o.exchanges[1].reply.code, 250);
  for (const auto& text : all_strings(o)) EXPECT_LE(text.size(), limits.max_text);
}

TEST(SmtpSession, NulAndEightBitBytesAreKept) {
  Outcome o = run({server(kGreeting), client(std::string("HELO h\0\xe9\r\n", 10)),
                   server("250 ok\r\n")});
  EXPECT_EQ(o.count("nul_in_line"), 1);
  EXPECT_EQ(o.summary.helo, std::string("h\0\xe9", 3));
}

TEST(SmtpSession, GapInACommandResyncsAtTheNextLine) {
  Outcome o = run({server(kGreeting), client("EHLO c\r\n"), server(kEhloPipelining),
                   client("MAIL FROM:<a@b>\r\nRCPT TO:<x"), client_gap(10),
                   client("yz@c>\r\nRCPT TO:<ok@c>\r\n"), server("250 ok\r\n250 ok\r\n")});
  EXPECT_EQ(o.summary.gap_bytes_client, 10u);
  EXPECT_EQ(o.count("content_gap"), 1);
  ASSERT_EQ(o.transactions.size(), 1u);
  ASSERT_EQ(o.transactions[0].recipients.size(), 1u);
  EXPECT_EQ(o.transactions[0].recipients[0].address, "ok@c");
  EXPECT_EQ(o.transactions[0].recipients[0].reply.code, 250);
}

TEST(SmtpSession, GapInTheBodyStillFindsTheEnd) {
  Outcome o = run(with(up_to_354(), {client("Subject: s\r\n\r\nline 1\r\nli"), client_gap(100),
                                     client("ne 3\r\n.\r\n"), server("250 ok\r\n"),
                                     client("QUIT\r\n"), server("221 bye\r\n")}));
  ASSERT_EQ(o.transactions.size(), 1u);
  EXPECT_EQ(o.transactions[0].end_of_data_reply.code, 250);
  EXPECT_EQ(o.transactions[0].subject, "s");
  EXPECT_EQ(o.transactions[0].message_bytes, 30u);  // 14 + 8 + 2 + 6 seen
  EXPECT_EQ(o.exchanges.back().reply.code, 221);
}

TEST(SmtpSession, ServerGapDropsWhatWasAwaited) {
  Outcome o = run({server(kGreeting), client("EHLO c\r\n"), server(kEhloPipelining),
                   client("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n"), server_gap(30),
                   server("tail of a lost line\r\n250 ok\r\n"), client("QUIT\r\n"),
                   server("221 bye\r\n")});
  EXPECT_EQ(o.summary.gap_bytes_server, 30u);
  ASSERT_EQ(o.transactions.size(), 1u);
  EXPECT_EQ(o.transactions[0].mail_reply.code, 0);
  EXPECT_EQ(o.transactions[0].recipients[0].reply.code, 0);
  EXPECT_EQ(o.count("unexpected_reply"), 1);
  EXPECT_EQ(o.exchanges.back().verb, "QUIT");
  EXPECT_EQ(o.exchanges.back().reply.code, 221);
}

TEST(SmtpSession, OnlyTheOuterHeaderBlockIsRead) {
  std::string message =
      "From: a@b\r\n"
      "Subject: =?utf-8?q?hi?= part one\r\n"
      " part two\r\n"
      "X-Mailer: Mass\r\n"
      "\tMailer 3000\r\n"
      "Message-ID: <abc@b>\r\n"
      "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
      "user-agent: UA/1\r\n"
      "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
      "\r\n"
      "--XX\r\n"
      "Content-Type: message/rfc822\r\n"
      "\r\n"
      "Subject: inner\r\n"
      "X-Mailer: Inner\r\n"
      "Message-ID: <inner@x>\r\n"
      "\r\n"
      "inner body\r\n"
      "--XX--\r\n";
  auto script = with(up_to_354(), {client(message + ".\r\n"), server("250 ok\r\n")});
  Outcome o = run(script);
  ASSERT_EQ(o.transactions.size(), 1u);
  const Transaction& t = o.transactions[0];
  EXPECT_EQ(t.subject, "=?utf-8?q?hi?= part one part two");
  EXPECT_EQ(t.x_mailer, "Mass\tMailer 3000");
  EXPECT_EQ(t.message_id, "<abc@b>");
  EXPECT_EQ(t.date, "Mon, 1 Jan 2024 00:00:00 +0000");
  EXPECT_EQ(t.user_agent, "UA/1");
  EXPECT_EQ(t.message_bytes, message.size());
  expect_same_at_every_split(script);
}

TEST(SmtpSession, RecipientsPastTheLimitAreCountedNotKept) {
  std::vector<Step> script = {server(kGreeting), client("EHLO c\r\n"), server(kEhloPlain),
                              client("MAIL FROM:<s@x>\r\n"), server("250 ok\r\n")};
  for (int i = 0; i < 1005; ++i) {
    script.push_back(client("RCPT TO:<user" + std::to_string(i) + "@y>\r\n"));
    script.push_back(server(i < 1002 ? "250 ok\r\n" : "550 5.1.1 unknown\r\n"));
  }
  script.push_back(client("QUIT\r\n"));
  Outcome o = run(script);
  ASSERT_EQ(o.transactions.size(), 1u);
  const Transaction& t = o.transactions[0];
  EXPECT_EQ(t.recipients.size(), 1000u);
  EXPECT_EQ(t.unkept_recipients, 5u);
  EXPECT_EQ(t.accepted_recipients(), 1002);
  EXPECT_EQ(t.refused_recipients(), 3);
}

TEST(SmtpSession, LongMultiLineReplyTextIsBounded) {
  std::string reply;
  for (int i = 0; i < 500; ++i) reply += "250-line " + std::to_string(i) + "\r\n";
  reply += "250 done\r\n";
  Limits limits;
  limits.max_text = 200;
  Outcome o = run({server(kGreeting), client("EHLO c\r\n"), server(reply)}, 0, 1, limits);
  ASSERT_EQ(o.exchanges.size(), 1u);
  EXPECT_EQ(o.exchanges[0].reply.text.size(), 200u);
  EXPECT_EQ(o.exchanges[0].reply.line_count, 501);
  EXPECT_LE(o.summary.extensions.size(), 64u);
}

TEST(SmtpSession, BadReplyLineIsCountedAndSkipped) {
  Outcome o = run({server(kGreeting), client("NOOP\r\n"), server("25x oops\r\n250 ok\r\n")});
  EXPECT_EQ(o.count("bad_reply_line"), 1);
  ASSERT_EQ(o.exchanges.size(), 1u);
  EXPECT_EQ(o.exchanges[0].reply.code, 250);
}

TEST(SmtpSession, EndFlushesOpenWork) {
  Outcome o = run(with(up_to_354(), {client("Subject: cut short\r\n\r\npartial")}));
  ASSERT_EQ(o.transactions.size(), 1u);
  EXPECT_EQ(o.transactions[0].subject, "cut short");
  EXPECT_EQ(o.transactions[0].end_of_data_reply.code, 0);
  EXPECT_TRUE(o.transactions[0].data_sent);
}

// Found by fuzzing: the mechanism plus "(auth data)" outgrew a small max_text.
TEST(SmtpSession, AuthArgumentRespectsASmallTextLimit) {
  Limits limits;
  limits.max_text = 40;
  Outcome o = run({server(kGreeting),
                   client("AUTH LOGIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIII secret\r\n"),
                   server("535 no\r\n")},
                  0, 1, limits);
  ASSERT_EQ(o.exchanges.size(), 1u);
  for (const auto& text : all_strings(o)) EXPECT_LE(text.size(), limits.max_text);
  EXPECT_FALSE(contains_anywhere(o, "secret"));
}

TEST(SmtpSession, FullHoldGuessesFromTheHeldBytesAtAnySplit) {
  Limits limits;
  limits.max_held_bytes = 16;
  std::vector<Step> body = with(up_to_rcpt(), {
      client("DATA\r\nSubject: no wait for 354\r\n\r\nbody\r\n.\r\n"),
      server("354 go\r\n250 queued\r\n")});
  Outcome o = run(body, 0, 1, limits);
  ASSERT_EQ(o.transactions.size(), 1u) << describe(o);
  EXPECT_EQ(o.transactions[0].subject, "no wait for 354");
  EXPECT_EQ(o.transactions[0].end_of_data_reply.code, 250);
  EXPECT_EQ(o.count("data_reply_not_awaited"), 1);
  EXPECT_EQ(describe(run(body, 1, 1, limits)), describe(o));

  std::vector<Step> commands = with(up_to_rcpt(), {
      client("DATA\r\nRSET\r\nNOOP\r\nNOOP\r\nNOOP\r\nQUIT\r\n"),
      server("554 no valid recipients\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n221 bye\r\n")});
  Outcome c = run(commands, 0, 1, limits);
  EXPECT_EQ(c.exchanges.back().verb, "QUIT") << describe(c);
  EXPECT_EQ(c.exchanges.back().reply.code, 221);
  EXPECT_EQ(describe(run(commands, 1, 1, limits)), describe(c));
}

TEST(SmtpSession, CaptureStartingAfterTheGreetingIsRecognizedByItsReplies) {
  Outcome o = run({client("MAIL FROM:<a@b.example>\r\n"), server("250 Ok\r\n"),
                   client("RCPT TO:<x@c.example>\r\n"),
                   server("550 5.1.1 <x@c.example>: User unknown\r\n"), client("QUIT\r\n"),
                   server("221 Bye\r\n")});
  EXPECT_TRUE(o.looks_like_smtp);
  EXPECT_EQ(o.summary.greeting.code, 0);  // the 250 answers MAIL, it is no greeting
  EXPECT_FALSE(o.summary.client_spoke_first);
  EXPECT_EQ(o.count("client_spoke_first"), 0);
  EXPECT_EQ(o.count("greeting_not_seen"), 1);
  ASSERT_EQ(o.exchanges.size(), 3u) << describe(o);
  EXPECT_EQ(o.exchanges[0].reply.code, 250);
  EXPECT_EQ(o.exchanges[1].reply.code, 550);
  ASSERT_EQ(o.transactions.size(), 1u);
  EXPECT_EQ(o.transactions[0].refused_recipients(), 1);
  expect_same_at_every_split({client("MAIL FROM:<a@b>\r\n"), server("250 Ok\r\n")});
}

TEST(SmtpSession, FirstReplyIsTheGreetingOnlyWhenItAnswersNoCommand) {
  // 554 to a RCPT seen midstream is a refusal of that RCPT...
  Outcome midstream = run({client("RCPT TO:<x@y>\r\n"), server("554 5.7.1 no relay\r\n")});
  EXPECT_EQ(midstream.summary.greeting.code, 0);
  ASSERT_EQ(midstream.exchanges.size(), 1u);
  EXPECT_EQ(midstream.exchanges[0].reply.code, 554);
  // ...but after an EHLO sent before any server byte, it refuses the connection.
  Outcome early = run({client("EHLO bot\r\n"), server("554 5.7.1 blocked using zen\r\n")});
  EXPECT_EQ(early.summary.greeting.code, 554);
  EXPECT_TRUE(early.summary.client_spoke_first);
  // 220 answers STARTTLS and nothing else.
  Outcome tls = run({client("STARTTLS\r\n"), server("220 go ahead\r\n")});
  EXPECT_EQ(tls.summary.greeting.code, 0);
  EXPECT_TRUE(tls.summary.starttls);
  // A stray non-greeting first reply with nothing asked is kept, not made a greeting.
  Outcome stray = run({server("250 ok\r\n")});
  EXPECT_EQ(stray.summary.greeting.code, 0);
  ASSERT_EQ(stray.exchanges.size(), 1u);
  EXPECT_EQ(stray.exchanges[0].verb, "");
  EXPECT_FALSE(stray.looks_like_smtp);
}

TEST(SmtpSession, OneSidedCaptureIsReadFromTheClientAlone) {
  Outcome o = run({client("ehlo c.example\r\n"), client("mail FROM:<a@b> size=9\r\n"),
                   client("rcpt TO:<c@d>\r\n"), client("data\r\n"),
                   client("From: a@b\r\nSubject: one\r\n\r\nbody\r\n.\r\n"),
                   client("mail FROM:<a@b>\r\nrcpt TO:<e@f>\r\ndata\r\n"),
                   client("Subject: two\r\n\r\nx\r\n.\r\nquit\r\n")});
  EXPECT_TRUE(o.looks_like_smtp);
  EXPECT_FALSE(o.summary.client_spoke_first);  // no server seen: nothing to be early to
  EXPECT_FALSE(o.summary.pipelined_without_extension);
  ASSERT_EQ(o.transactions.size(), 2u) << describe(o);
  EXPECT_EQ(o.transactions[0].subject, "one");
  EXPECT_EQ(o.transactions[1].subject, "two");
  EXPECT_EQ(o.transactions[1].recipients[0].address, "e@f");
  std::vector<std::string> verbs;
  for (const auto& e : o.exchanges) verbs.push_back(e.verb);
  EXPECT_EQ(verbs, (std::vector<std::string>{"EHLO", "MAIL", "RCPT", "DATA", "MAIL", "RCPT",
                                             "DATA", "QUIT"}));
  EXPECT_EQ(o.count("data_reply_not_seen"), 2);
}

TEST(SmtpSession, ClientOnlyRuleNeedsRecognizedVerbs) {
  Outcome two = run({client("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n")}, 0, 1, {}, false);
  EXPECT_TRUE(two.looks_like_smtp);  // two recognized verbs in a row, before any end
  Outcome lone_quit = run({client("QUIT\r\n")});
  EXPECT_TRUE(lone_quit.looks_like_smtp);  // the connection ended with only SMTP lines
  Outcome noise = run({client("hello there\r\nQUIT\r\n")});
  EXPECT_FALSE(noise.looks_like_smtp);
  Outcome one = run({client("MAIL FROM:<a@b>\r\n")}, 0, 1, {}, false);
  EXPECT_FALSE(one.looks_like_smtp);  // one verb and the connection still open: not yet
}

TEST(SmtpSession, UnsolicitedReplyIsKeptWithoutAVerb) {
  Outcome o = run({server(kGreeting), client("HELO c\r\n"), server("250 hi\r\n"),
                   server("421 4.4.2 Error: timeout exceeded\r\n")});
  ASSERT_EQ(o.exchanges.size(), 2u);
  EXPECT_EQ(o.exchanges[1].verb, "");
  EXPECT_EQ(o.exchanges[1].reply.code, 421);
  EXPECT_EQ(o.count("unexpected_reply"), 1);
}

TEST(SmtpSession, EmptyAndMalformedLinesAreAnsweredExchanges) {
  Outcome o = run(with(up_to_354(),
                       {client("x\r\n.\r\n\r\n"),
                        server("250 queued\r\n500 5.5.1 unrecognized\r\n"),
                        client(std::string("g\t\x01\xfe\xff") + " garbage\r\nHello, Alice\r\n"),
                        server("500 5.5.1 bad\r\n500 5.5.1 bad\r\n"), client("QUIT\r\n"),
                        server("221 bye\r\n")}));
  ASSERT_GE(o.exchanges.size(), 4u);
  const auto& e = o.exchanges;
  size_t n = e.size();
  EXPECT_EQ(e[n - 4].verb, "");  // the empty line
  EXPECT_EQ(e[n - 4].reply.code, 500);
  EXPECT_EQ(e[n - 3].verb, "");  // binary noise: not a verb
  EXPECT_EQ(e[n - 3].argument, std::string("g\t\x01\xfe\xff") + " garbage");
  EXPECT_EQ(e[n - 2].verb, "");
  EXPECT_EQ(e[n - 2].argument, "Hello, Alice");
  EXPECT_EQ(e[n - 1].verb, "QUIT");
  EXPECT_EQ(e[n - 1].reply.code, 221);
  EXPECT_EQ(o.count("malformed_command"), 2);
  EXPECT_EQ(o.count("unexpected_reply"), 0);
}

TEST(SmtpSession, ServerReplyEndsDataWhenTheBareLfDotWasNotTheEnd) {
  // "LF . LF" is not an end of data for spamtap; the server's reply shows it took it as one.
  Outcome o = run(with(up_to_354(), {client("Subject: s\n\nbody\n.\n"),
                                     server("250 +OK queued\r\n"), client("QUIT\r\n"),
                                     server("221 bye\r\n")}));
  ASSERT_EQ(o.transactions.size(), 1u) << describe(o);
  EXPECT_EQ(o.transactions[0].end_of_data_reply.code, 250);
  EXPECT_EQ(o.transactions[0].subject, "s");
  EXPECT_EQ(o.count("end_of_data_not_seen"), 1);
  EXPECT_EQ(o.exchanges.back().verb, "QUIT");
  EXPECT_EQ(o.exchanges.back().reply.code, 221);
}

TEST(SmtpSession, DataWithoutMailKeepsIts354) {
  Outcome o = run({server(kGreeting), client("EHLO c\r\n"), server("250 ok\r\n"),
                   client("DATA\r\n"), server("354 go\r\n"), client("x\r\n.\r\n"),
                   server("250 ok\r\n")});
  ASSERT_EQ(o.transactions.size(), 1u);
  EXPECT_EQ(o.transactions[0].data_reply.code, 354);
  EXPECT_EQ(o.transactions[0].end_of_data_reply.code, 250);
  EXPECT_EQ(o.count("data_without_mail"), 1);
}

TEST(SmtpSession, CommandOpeningTheSegmentAfterAGapIsKept) {
  Outcome o = run({server(kGreeting), client("EHLO c\r\n"), server("250 ok\r\n"),
                   client("NOOP\r\nRSET"), client_gap(20),
                   server("250 ok\r\n250 ok\r\n"),  // NOOP, then the line lost in the gap
                   client("DATA\r\n"), server("354 go\r\n"), client("x\r\n.\r\n"),
                   server("250 queued\r\n")});
  std::vector<std::string> verbs;
  for (const auto& e : o.exchanges) verbs.push_back(e.verb);
  EXPECT_EQ(verbs, (std::vector<std::string>{"EHLO", "NOOP", "", "DATA"})) << describe(o);
  ASSERT_EQ(o.transactions.size(), 1u);
  EXPECT_EQ(o.transactions[0].end_of_data_reply.code, 250);
}

TEST(SmtpSession, VrfyExpnHelpAreCommandsWithTheirReplies) {
  Outcome o = run({server(kGreeting), client("HELO c\r\n"), server("250 hi\r\n"),
                   client("VRFY bob\r\n"), server("252 2.0.0 bob\r\n"), client("EXPN list\r\n"),
                   server("502 5.5.1 no\r\n"), client("HELP\r\n"),
                   server("214-help\r\n214 end\r\n")});
  ASSERT_EQ(o.exchanges.size(), 4u);
  EXPECT_EQ(o.exchanges[1].verb, "VRFY");
  EXPECT_EQ(o.exchanges[1].reply.code, 252);
  EXPECT_EQ(o.exchanges[2].verb, "EXPN");
  EXPECT_EQ(o.exchanges[3].reply.line_count, 2);
}

TEST(SmtpSession, ClientClosingAfterTheGreetingLeavesOnlyTheGreeting) {
  Outcome o = run({server(kGreeting)});
  EXPECT_TRUE(o.looks_like_smtp);
  EXPECT_EQ(o.summary.greeting.code, 220);
  EXPECT_TRUE(o.exchanges.empty());
  EXPECT_TRUE(o.transactions.empty());
  EXPECT_FALSE(o.summary.quit_sent);
}

}  // namespace
}  // namespace spamtap::smtp::testing
