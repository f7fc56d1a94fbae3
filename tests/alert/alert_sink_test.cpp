#include <gtest/gtest.h>

#include "alert/syslog.hpp"
#include "loopback_receiver.hpp"

namespace spamtap::alert {
namespace {

using namespace std::chrono_literals;

Event event_at(const char* host, int rule, int64_t second, uint64_t connection = 1) {
  Event event;
  event.time = seconds(second);
  event.host = *IpAddress::parse(host);
  event.peer = *IpAddress::parse("198.51.100.25");
  event.peer_port = 25;
  event.rule = rule;
  event.severity = Severity::kHigh;
  event.connection_id = connection;
  event.summary = "summary";
  event.evidence = "554 5.7.1 Relay access denied";
  return event;
}

AlertOptions test_options() {
  AlertOptions options;
  options.origin.hostname = "sensor1";
  options.origin.process_id = "4242";
  options.flush_timeout = 2s;
  return options;
}

TEST(RateLimiter, AtMostNPerHostAndRuleAndWindow) {
  RateLimiter limiter(RateLimit{2, seconds(60), 1000});
  IpAddress a = *IpAddress::parse("10.0.0.1");
  IpAddress b = *IpAddress::parse("10.0.0.2");
  EXPECT_TRUE(limiter.admit(a, 4122, seconds(0)).send);
  EXPECT_TRUE(limiter.admit(a, 4122, seconds(1)).send);
  EXPECT_FALSE(limiter.admit(a, 4122, seconds(2)).send);
  EXPECT_FALSE(limiter.admit(a, 4122, seconds(59)).send);
  EXPECT_TRUE(limiter.admit(b, 4122, seconds(3)).send);  // another host
  EXPECT_TRUE(limiter.admit(a, 4123, seconds(3)).send);  // another rule
  RateLimiter::Decision next = limiter.admit(a, 4122, seconds(60));
  EXPECT_TRUE(next.send);
  EXPECT_EQ(next.suppressed_before, 2u);
  EXPECT_EQ(limiter.admit(a, 4122, seconds(61)).suppressed_before, 0u);
  EXPECT_EQ(limiter.suppressed(), 2u);
}

TEST(RateLimiter, ZeroMeansUnlimited) {
  RateLimiter limiter(RateLimit{0, seconds(60), 10});
  IpAddress a = *IpAddress::parse("10.0.0.1");
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(limiter.admit(a, 4122, seconds(1)).send);
  EXPECT_EQ(limiter.tracked(), 0u);
}

TEST(RateLimiter, BoundedTableForgetsExpiredKeys) {
  RateLimiter limiter(RateLimit{1, seconds(10), 2});
  auto host = [](int i) { return *IpAddress::parse("10.0.0." + std::to_string(i)); };
  EXPECT_TRUE(limiter.admit(host(1), 4122, seconds(0)).send);
  EXPECT_TRUE(limiter.admit(host(2), 4122, seconds(0)).send);
  EXPECT_TRUE(limiter.admit(host(3), 4122, seconds(1)).send);  // full: let through
  EXPECT_EQ(limiter.untracked(), 1u);
  EXPECT_TRUE(limiter.admit(host(4), 4122, seconds(20)).send);  // old keys swept
  EXPECT_LE(limiter.tracked(), 2u);
  EXPECT_FALSE(limiter.admit(host(4), 4122, seconds(21)).send);
}

TEST(AlertSink, BadTargetStartsNothingAndSaysWhy) {
  std::string error;
  auto sink = AlertSink::create({"udp://127.0.0.1:514", "tcp://127.0.0.1:http"},
                                test_options(), &error);
  EXPECT_EQ(sink, nullptr);
  EXPECT_NE(error.find("port 'http'"), std::string::npos) << error;
}

TEST(AlertSink, EveryTargetGetsEachEventInItsFormat) {
  testing::UdpReceiver udp;
  testing::TcpReceiver tcp;
  std::string error;
  AlertOptions options = test_options();
  auto sink = AlertSink::create(
      {"udp://127.0.0.1:" + std::to_string(udp.port()),
       "tcp://127.0.0.1:" + std::to_string(tcp.port()) + "?format=3164&cef=1&facility=mail"},
      options, &error);
  ASSERT_NE(sink, nullptr) << error;

  Event event = event_at("10.0.0.7", 4122, 100, 9);
  sink->write_connection(Connection{});  // ignored
  sink->write_anomaly(AnomalyRecord{});  // ignored
  sink->write_event(event);
  sink->flush();

  MessageSettings udp_settings;
  MessageSettings tcp_settings;
  tcp_settings.format = SyslogFormat::kRfc3164;
  tcp_settings.cef = true;
  tcp_settings.facility = 2;
  tcp_settings.max_size = 8192;
  EXPECT_EQ(udp.receive().value_or("?"), format_message(event, options.origin, udp_settings).bytes);
  EXPECT_EQ(tcp.frames(1), std::vector<std::string>{
                               format_message(event, options.origin, tcp_settings).bytes});
  sink->close();
  auto counters = sink->counter_map();
  EXPECT_EQ(counters["syslog_events"], 1u);
  EXPECT_EQ(counters["syslog_sent"], 2u);
  EXPECT_EQ(counters["syslog_dropped"], 0u);
  EXPECT_NE(sink->summary().find("2 messages sent"), std::string::npos) << sink->summary();
  EXPECT_EQ(sink->target_reports().size(), 2u);
}

TEST(AlertSink, RepeatedAlertsAreRateLimited) {
  testing::UdpReceiver udp;
  std::string error;
  AlertOptions options = test_options();
  options.rate_limit.max_per_window = 2;
  auto sink =
      AlertSink::create({"udp://127.0.0.1:" + std::to_string(udp.port())}, options, &error);
  ASSERT_NE(sink, nullptr) << error;

  for (int i = 0; i < 5; ++i) sink->write_event(event_at("10.0.0.7", 4122, i));
  sink->write_event(event_at("10.0.0.8", 4122, 5));
  sink->write_event(event_at("10.0.0.7", 4122, 120));  // a new window
  sink->close();

  std::vector<std::string> received;
  while (auto datagram = udp.receive(200)) received.push_back(*datagram);
  ASSERT_EQ(received.size(), 4u);
  EXPECT_NE(received[3].find("host=\"10.0.0.7\""), std::string::npos);
  EXPECT_NE(received[3].find("suppressed=\"3\""), std::string::npos) << received[3];
  AlertCounters counters = sink->counters();
  EXPECT_EQ(counters.events, 7u);
  EXPECT_EQ(counters.suppressed, 3u);
  EXPECT_EQ(counters.delivery.sent, 4u);
}

TEST(AlertSink, NeverWaitsForADeadReceiver) {
  AlertOptions options = test_options();
  options.rate_limit.max_per_window = 0;
  options.sender.queue_capacity = 16;
  options.sender.reconnect_initial = 10s;
  options.flush_timeout = 100ms;
  std::string error;
  auto sink = AlertSink::create(
      {"tcp://127.0.0.1:" + std::to_string(testing::closed_tcp_port())}, options, &error);
  ASSERT_NE(sink, nullptr) << error;
  for (int i = 0; i < 1000; ++i) sink->write_event(event_at("10.0.0.7", 4122, i));
  sink->close();
  AlertCounters counters = sink->counters();
  EXPECT_EQ(counters.delivery.sent, 0u);
  EXPECT_GE(counters.delivery.dropped_queue_full, 1000u - 17);
  EXPECT_EQ(counters.delivery.dropped(), 1000u);
}

TEST(AlertSink, LongEvidenceIsCutAndCounted) {
  testing::UdpReceiver udp;
  std::string error;
  auto sink = AlertSink::create({"udp://127.0.0.1:" + std::to_string(udp.port())},
                                test_options(), &error);
  ASSERT_NE(sink, nullptr) << error;
  Event event = event_at("10.0.0.7", 4122, 1);
  event.evidence = std::string(10000, 'E');
  sink->write_event(event);
  sink->flush();
  std::string datagram = udp.receive().value_or("");
  EXPECT_EQ(datagram.size(), 2048u);
  EXPECT_TRUE(datagram.ends_with(" [truncated]"));
  EXPECT_EQ(sink->counters().truncated, 1u);
}

}  // namespace
}  // namespace spamtap::alert
