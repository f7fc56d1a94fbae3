// SyslogTarget: one receiver of alerts, written as `udp://HOST:PORT` or
// `tcp://HOST:PORT` with options in a query string, e.g.
// `tcp://[::1]:6514?format=3164&cef=1&facility=local3&max_size=4096`.
// Parsing checks the text only; the host name is resolved once, by resolve(), when
// the senders start, so a DNS outage later cannot stall alerts.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace spamtap::alert {

enum class Transport : uint8_t { kUdp, kTcp };
enum class SyslogFormat : uint8_t { kRfc5424, kRfc3164 };

constexpr uint16_t kDefaultSyslogPort = 514;
constexpr int kDefaultFacility = 16;  // local0
constexpr size_t kDefaultUdpMessageSize = 2048;
constexpr size_t kDefaultTcpMessageSize = 8192;
// RFC 5424 §6.1: every receiver must take 480 octets; smaller would not hold a header.
constexpr size_t kMinMessageSize = 480;
constexpr size_t kMaxUdpMessageSize = 65000;      // below the IPv4/IPv6 datagram ceiling
constexpr size_t kMaxTcpMessageSize = 1 << 20;

struct SyslogTarget {
  Transport transport = Transport::kUdp;
  std::string host;  // hostname or address literal, without IPv6 brackets
  uint16_t port = kDefaultSyslogPort;
  SyslogFormat format = SyslogFormat::kRfc5424;
  bool cef = false;                 // MSG carries a CEF record instead of plain text
  int facility = kDefaultFacility;  // 0..23
  size_t max_message_size = 0;      // one message without TCP framing; 0 = default

  // Returns nullopt and a message naming the bad part on error.
  static std::optional<SyslogTarget> parse(std::string_view text, std::string* error);

  // The size limit in force: max_message_size, or 2048 for UDP and 8192 for TCP.
  size_t message_limit() const;
  // The canonical text form, e.g. "udp://127.0.0.1:514?format=5424&facility=local0".
  std::string to_string() const;
};

struct ResolvedAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  std::string text;  // "127.0.0.1:514" or "[::1]:514"
};

// Resolves the target's host (numeric addresses without any lookup). On failure returns
// false with a message naming the host.
bool resolve(const SyslogTarget& target, ResolvedAddress* address, std::string* error);

// "local0" -> 16, "mail" -> 2, "7" -> 7; -1 when unknown.
int parse_facility(std::string_view text);
const char* facility_name(int facility);

}  // namespace spamtap::alert
