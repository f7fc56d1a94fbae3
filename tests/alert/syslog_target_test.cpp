#include <gtest/gtest.h>

#include "alert/syslog_target.hpp"

namespace spamtap::alert {
namespace {

SyslogTarget parse_ok(const char* text) {
  std::string error;
  auto target = SyslogTarget::parse(text, &error);
  EXPECT_TRUE(target) << text << ": " << error;
  return target.value_or(SyslogTarget{});
}

std::string parse_error(const std::string& text) {
  std::string error;
  auto target = SyslogTarget::parse(text, &error);
  EXPECT_FALSE(target) << text;
  return error;
}

TEST(SyslogTarget, UdpIpv4WithDefaults) {
  SyslogTarget target = parse_ok("udp://127.0.0.1:5514");
  EXPECT_EQ(target.transport, Transport::kUdp);
  EXPECT_EQ(target.host, "127.0.0.1");
  EXPECT_EQ(target.port, 5514);
  EXPECT_EQ(target.format, SyslogFormat::kRfc5424);
  EXPECT_FALSE(target.cef);
  EXPECT_EQ(target.facility, 16);
  EXPECT_EQ(target.message_limit(), 2048u);
  EXPECT_EQ(target.to_string(), "udp://127.0.0.1:5514?format=5424&facility=local0");
}

TEST(SyslogTarget, TcpIpv6WithOptions) {
  SyslogTarget target = parse_ok("TCP://[::1]:6514?format=3164&cef=1&facility=mail&max_size=4096");
  EXPECT_EQ(target.transport, Transport::kTcp);
  EXPECT_EQ(target.host, "::1");
  EXPECT_EQ(target.port, 6514);
  EXPECT_EQ(target.format, SyslogFormat::kRfc3164);
  EXPECT_TRUE(target.cef);
  EXPECT_EQ(target.facility, 2);
  EXPECT_EQ(target.message_limit(), 4096u);
  EXPECT_EQ(target.to_string(),
            "tcp://[::1]:6514?format=3164&facility=mail&cef=1&max_size=4096");
}

TEST(SyslogTarget, HostnameAndDefaultPort) {
  SyslogTarget target = parse_ok("tcp://localhost");
  EXPECT_EQ(target.host, "localhost");
  EXPECT_EQ(target.port, 514);
  EXPECT_EQ(target.message_limit(), 8192u);
  EXPECT_EQ(parse_ok("udp://127.0.0.1:514?facility=7").facility, 7);
}

TEST(SyslogTarget, ErrorsNameTheBadPart) {
  EXPECT_NE(parse_error("http://127.0.0.1:514").find("scheme 'http'"), std::string::npos);
  EXPECT_NE(parse_error("127.0.0.1:514").find("expected udp://"), std::string::npos);
  EXPECT_NE(parse_error("udp://127.0.0.1:99999").find("port '99999'"), std::string::npos);
  EXPECT_NE(parse_error("udp://127.0.0.1:0").find("port '0'"), std::string::npos);
  EXPECT_NE(parse_error("udp://127.0.0.1:x1").find("port 'x1'"), std::string::npos);
  EXPECT_NE(parse_error("udp://::1:514").find("brackets"), std::string::npos);
  EXPECT_NE(parse_error("udp://[::1:514").find("closing ']'"), std::string::npos);
  EXPECT_NE(parse_error("udp://[1.2.3.4]:514").find("not an IPv6"), std::string::npos);
  EXPECT_NE(parse_error("udp://:514").find("host is missing"), std::string::npos);
  EXPECT_NE(parse_error("udp://bad host:514").find("host 'bad host'"), std::string::npos);
  EXPECT_NE(parse_error("udp://h:1?format=5425").find("format '5425'"), std::string::npos);
  EXPECT_NE(parse_error("udp://h:1?cef=maybe").find("cef 'maybe'"), std::string::npos);
  EXPECT_NE(parse_error("udp://h:1?facility=local9").find("facility 'local9'"),
            std::string::npos);
  EXPECT_NE(parse_error("udp://h:1?max_size=100").find("max_size '100'"), std::string::npos);
  EXPECT_NE(parse_error("udp://h:1?max_size=100000").find("UDP datagram"), std::string::npos);
  EXPECT_NE(parse_error("udp://h:1?colour=red").find("option 'colour'"), std::string::npos);
  EXPECT_NE(parse_error("udp://h:1?cef").find("option 'cef' has no"), std::string::npos);
  EXPECT_NE(parse_error("udp://h:1/path").find("path '/path'"), std::string::npos);
}

TEST(SyslogTarget, ErrorTextIsEscaped) {
  std::string error = parse_error("udp://h:1?format=\x1b[2J\n");
  EXPECT_EQ(error.find('\x1b'), std::string::npos);
  EXPECT_EQ(error.find('\n'), std::string::npos);
}

TEST(SyslogTarget, ResolvesLiteralsAndLocalhost) {
  ResolvedAddress address;
  std::string error;
  ASSERT_TRUE(resolve(parse_ok("udp://127.0.0.1:5514"), &address, &error)) << error;
  EXPECT_EQ(address.text, "127.0.0.1:5514");
  EXPECT_EQ(address.storage.ss_family, AF_INET);
  ASSERT_TRUE(resolve(parse_ok("tcp://[::1]:6514"), &address, &error)) << error;
  EXPECT_EQ(address.text, "[::1]:6514");
  ASSERT_TRUE(resolve(parse_ok("tcp://localhost:6514"), &address, &error)) << error;
  EXPECT_TRUE(address.text == "127.0.0.1:6514" || address.text == "[::1]:6514")
      << address.text;
}

TEST(SyslogTarget, FacilityNames) {
  EXPECT_EQ(parse_facility("LOCAL7"), 23);
  EXPECT_EQ(parse_facility("kern"), 0);
  EXPECT_EQ(parse_facility("24"), -1);
  EXPECT_STREQ(facility_name(16), "local0");
}

}  // namespace
}  // namespace spamtap::alert
