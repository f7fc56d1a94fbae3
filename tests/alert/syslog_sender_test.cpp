#include <gtest/gtest.h>

#include <thread>

#include "alert/syslog_format.hpp"
#include "alert/syslog_sender.hpp"
#include "loopback_receiver.hpp"

namespace spamtap::alert {
namespace {

using namespace std::chrono_literals;
using testing::TcpReceiver;
using testing::UdpReceiver;

std::unique_ptr<SyslogSender> sender_to(const std::string& text, SenderSettings settings = {}) {
  std::string error;
  auto target = SyslogTarget::parse(text, &error);
  EXPECT_TRUE(target) << error;
  ResolvedAddress address;
  EXPECT_TRUE(resolve(*target, &address, &error)) << error;
  return std::make_unique<SyslogSender>(*target, address, settings);
}

SenderSettings fast_reconnect() {
  SenderSettings settings;
  settings.reconnect_initial = 20ms;
  settings.reconnect_max = 100ms;
  return settings;
}

TEST(SyslogSender, UdpSendsOneDatagramPerMessage) {
  UdpReceiver receiver;
  auto sender = sender_to("udp://127.0.0.1:" + std::to_string(receiver.port()));
  std::string big(2048, 'x');
  ASSERT_TRUE(sender->enqueue("<131>1 - - - - - - first"));
  ASSERT_TRUE(sender->enqueue(big));
  EXPECT_EQ(receiver.receive().value_or("?"), "<131>1 - - - - - - first");
  EXPECT_EQ(receiver.receive().value_or("?"), big);
  EXPECT_TRUE(sender->wait_idle(2s));
  sender->close(1s);
  SenderCounters counters = sender->counters();
  EXPECT_EQ(counters.sent, 2u);
  EXPECT_EQ(counters.dropped(), 0u);
}

TEST(SyslogSender, TcpUsesOctetCounting) {
  TcpReceiver receiver;
  auto sender = sender_to("tcp://127.0.0.1:" + std::to_string(receiver.port()));
  std::vector<std::string> sent{"one", "two words", std::string(8192, 'y'), "\xC3\xA9t\xC3\xA9",
                                "12 looks like a frame"};
  for (const auto& message : sent) ASSERT_TRUE(sender->enqueue(message));
  EXPECT_EQ(receiver.frames(sent.size()), sent);
  sender->close(1s);
  EXPECT_EQ(sender->counters().sent, sent.size());
  EXPECT_EQ(sender->counters().connects, 1u);
}

TEST(SyslogSender, FullQueueDropsTheNewestAndCountsIt) {
  SenderSettings settings;
  settings.queue_capacity = 3;
  settings.reconnect_initial = 10s;  // the receiver is down for the whole test
  settings.reconnect_max = 10s;
  auto sender =
      sender_to("tcp://127.0.0.1:" + std::to_string(testing::closed_tcp_port()), settings);
  int accepted = 0;
  for (int i = 0; i < 10; ++i) accepted += sender->enqueue("m" + std::to_string(i)) ? 1 : 0;

  // One message may already be with the thread, so 3 or 4 were taken.
  EXPECT_GE(accepted, 3);
  EXPECT_LE(accepted, 4);
  SenderCounters before = sender->counters();
  EXPECT_EQ(before.queued, static_cast<uint64_t>(accepted));
  EXPECT_EQ(before.dropped_queue_full, static_cast<uint64_t>(10 - accepted));

  for (int i = 0; i < 100 && sender->counters().errors == 0; ++i) std::this_thread::sleep_for(20ms);
  sender->close(100ms);  // bounded: the backoff sleep is cut short
  SenderCounters after = sender->counters();
  EXPECT_EQ(after.sent, 0u);
  EXPECT_EQ(after.dropped_at_close, static_cast<uint64_t>(accepted));
  EXPECT_EQ(after.sent + after.dropped(), 10u);
  EXPECT_GE(after.errors, 1u);
  EXPECT_NE(sender->last_error().find("connect to 127.0.0.1:"), std::string::npos);
  EXPECT_FALSE(sender->enqueue("late"));
}

TEST(SyslogSender, TcpReconnectsAfterTheReceiverRestarts) {
  auto receiver = std::make_unique<TcpReceiver>();
  uint16_t port = receiver->port();
  auto sender = sender_to("tcp://127.0.0.1:" + std::to_string(port), fast_reconnect());

  for (int i = 0; i < 3; ++i) sender->enqueue("before " + std::to_string(i));
  ASSERT_EQ(receiver->frames(3).size(), 3u);
  ASSERT_TRUE(sender->wait_idle(2s));

  receiver.reset();  // listener and connection gone
  for (int i = 0; i < 3; ++i) sender->enqueue("during " + std::to_string(i));
  std::this_thread::sleep_for(200ms);  // a few refused connects and backoffs
  receiver = std::make_unique<TcpReceiver>(port);
  for (int i = 0; i < 2; ++i) sender->enqueue("after " + std::to_string(i));

  std::vector<std::string> frames = receiver->frames(5);
  EXPECT_EQ(frames, (std::vector<std::string>{"during 0", "during 1", "during 2", "after 0",
                                              "after 1"}));
  sender->close(1s);
  SenderCounters counters = sender->counters();
  EXPECT_EQ(counters.sent, 8u);
  EXPECT_EQ(counters.dropped(), 0u);
  EXPECT_EQ(counters.connects, 2u);
  EXPECT_EQ(counters.reconnects, 1u);
  EXPECT_GE(counters.errors, 1u);  // the closed connection, then refused connects
}

TEST(SyslogSender, UdpWithoutReceiverDoesNotStall) {
  auto sender = sender_to("udp://127.0.0.1:" + std::to_string(testing::closed_tcp_port()));
  for (int i = 0; i < 20; ++i) sender->enqueue("nobody listens");
  EXPECT_TRUE(sender->wait_idle(2s));
  sender->close(1s);
  SenderCounters counters = sender->counters();
  EXPECT_EQ(counters.sent + counters.dropped(), 20u);
}

TEST(SyslogSender, Ipv6Loopback) {
  int listener = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_addr = in6addr_loopback;
  if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address)) {
    if (listener >= 0) close(listener);
    GTEST_SKIP() << "no IPv6 loopback here";
  }
  socklen_t length = sizeof address;
  getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  auto sender = sender_to("udp://[::1]:" + std::to_string(ntohs(address.sin6_port)));
  sender->enqueue("v6");
  pollfd entry{listener, POLLIN, 0};
  ASSERT_EQ(poll(&entry, 1, 3000), 1);
  char buffer[16];
  ssize_t got = recv(listener, buffer, sizeof buffer, 0);
  EXPECT_EQ(std::string(buffer, static_cast<size_t>(std::max<ssize_t>(got, 0))), "v6");
  sender->close(1s);
  close(listener);
}

}  // namespace
}  // namespace spamtap::alert
