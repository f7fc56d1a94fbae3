#include "alert/syslog_target.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>

#include <array>
#include <charconv>
#include <cstring>

#include "core/address.hpp"
#include "core/text.hpp"

namespace spamtap::alert {

namespace {

constexpr std::array<const char*, 24> kFacilityNames{
    "kern",   "user",   "mail",   "daemon", "auth",   "syslog", "lpr",    "news",
    "uucp",   "cron",   "authpriv", "ftp",  "ntp",    "security", "console", "solaris-cron",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"};

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool parse_number(std::string_view text, uint64_t max, uint64_t* out) {
  if (text.empty() || text.size() > 9) return false;
  uint64_t value = 0;
  auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (status != std::errc() || end != text.data() + text.size() || value > max) return false;
  *out = value;
  return true;
}

bool is_hostname(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// Splits "HOST[:PORT]" (HOST may be "[v6]") into its parts; returns an error message.
std::string split_authority(std::string_view authority, SyslogTarget* target) {
  std::string_view host;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return "IPv6 address has no closing ']'";
    host = authority.substr(1, close - 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return fmt::format("'{}' after the IPv6 address is not ':PORT'", escape_control(rest));
      }
      port = rest.substr(1), has_port = true;
    }
    auto address = IpAddress::parse(host);
    if (!address || !address->is_v6()) {
      return fmt::format("host '[{}]' is not an IPv6 address", escape_control(host));
    }
  } else {
    size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos && authority.find(':') != colon) {
      return fmt::format("host '{}' looks like an IPv6 address: write it in brackets, "
                         "e.g. udp://[::1]:514",
                         escape_control(authority));
    }
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1), has_port = true;
    if (host.empty()) return "the host is missing";
    if (!is_hostname(host)) {
      return fmt::format("host '{}' is not an address or a host name", escape_control(host));
    }
  }

  target->host = std::string(host);
  if (has_port) {
    uint64_t value = 0;
    if (!parse_number(port, 65535, &value) || value == 0) {
      return fmt::format("port '{}' is not a number from 1 to 65535", escape_control(port));
    }
    target->port = static_cast<uint16_t>(value);
  }
  return {};
}

std::string apply_option(std::string_view key, std::string_view value, SyslogTarget* target) {
  std::string name = lower(key);
  std::string lowered = lower(value);
  if (name == "format") {
    if (lowered == "5424" || lowered == "rfc5424") {
      target->format = SyslogFormat::kRfc5424;
    } else if (lowered == "3164" || lowered == "rfc3164") {
      target->format = SyslogFormat::kRfc3164;
    } else {
      return fmt::format("format '{}' is not 5424 or 3164", escape_control(value));
    }
  } else if (name == "cef") {
    if (lowered == "1" || lowered == "true" || lowered == "yes") {
      target->cef = true;
    } else if (lowered == "0" || lowered == "false" || lowered == "no") {
      target->cef = false;
    } else {
      return fmt::format("cef '{}' is not 1 or 0", escape_control(value));
    }
  } else if (name == "facility") {
    int facility = parse_facility(value);
    if (facility < 0) {
      return fmt::format("facility '{}' is not a syslog facility (kern, user, mail, daemon, "
                         "auth, ..., local0..local7, or 0..23)",
                         escape_control(value));
    }
    target->facility = facility;
  } else if (name == "max_size") {
    uint64_t size = 0;
    if (!parse_number(value, kMaxTcpMessageSize, &size) || size < kMinMessageSize) {
      return fmt::format("max_size '{}' is not a number from {} to {}", escape_control(value),
                         kMinMessageSize, kMaxTcpMessageSize);
    }
    target->max_message_size = size;
  } else {
    return fmt::format("option '{}' is unknown (known: format, cef, facility, max_size)",
                       escape_control(key));
  }
  return {};
}

}  // namespace

int parse_facility(std::string_view text) {
  std::string name = lower(text);
  for (size_t i = 0; i < kFacilityNames.size(); ++i) {
    if (name == kFacilityNames[i]) return static_cast<int>(i);
  }
  uint64_t number = 0;
  if (parse_number(text, 23, &number)) return static_cast<int>(number);
  return -1;
}

const char* facility_name(int facility) {
  if (facility < 0 || facility >= static_cast<int>(kFacilityNames.size())) return "?";
  return kFacilityNames[static_cast<size_t>(facility)];
}

std::optional<SyslogTarget> SyslogTarget::parse(std::string_view text, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<SyslogTarget> {
    if (error) *error = fmt::format("syslog target '{}': {}", escape_control(text), why);
    return std::nullopt;
  };

  SyslogTarget target;
  size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    return fail("expected udp://HOST:PORT or tcp://HOST:PORT");
  }
  std::string scheme = lower(text.substr(0, scheme_end));
  if (scheme == "udp") {
    target.transport = Transport::kUdp;
  } else if (scheme == "tcp") {
    target.transport = Transport::kTcp;
  } else {
    return fail(fmt::format("scheme '{}' is not udp or tcp",
                            escape_control(text.substr(0, scheme_end))));
  }

  std::string_view rest = text.substr(scheme_end + 3);
  size_t query_start = rest.find('?');
  std::string_view authority = rest.substr(0, query_start);
  if (size_t slash = authority.find('/'); slash != std::string_view::npos) {
    return fail(fmt::format("path '{}' is not allowed; options go after '?'",
                            escape_control(authority.substr(slash))));
  }
  if (std::string why = split_authority(authority, &target); !why.empty()) return fail(why);

  if (query_start != std::string_view::npos) {
    std::string_view query = rest.substr(query_start + 1);
    while (!query.empty()) {
      size_t amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      if (pair.empty()) continue;
      size_t equals = pair.find('=');
      if (equals == std::string_view::npos) {
        return fail(fmt::format("option '{}' has no '=VALUE'", escape_control(pair)));
      }
      std::string why = apply_option(pair.substr(0, equals), pair.substr(equals + 1), &target);
      if (!why.empty()) return fail(why);
    }
  }

  if (target.transport == Transport::kUdp && target.max_message_size > kMaxUdpMessageSize) {
    return fail(fmt::format("max_size {} is larger than a UDP datagram can carry (at most {})",
                            target.max_message_size, kMaxUdpMessageSize));
  }
  return target;
}

size_t SyslogTarget::message_limit() const {
  if (max_message_size != 0) return max_message_size;
  return transport == Transport::kUdp ? kDefaultUdpMessageSize : kDefaultTcpMessageSize;
}

std::string SyslogTarget::to_string() const {
  bool v6 = host.find(':') != std::string::npos;
  std::string out = fmt::format("{}://{}{}{}:{}?format={}&facility={}",
                                transport == Transport::kUdp ? "udp" : "tcp", v6 ? "[" : "",
                                host, v6 ? "]" : "", port,
                                format == SyslogFormat::kRfc5424 ? "5424" : "3164",
                                facility_name(facility));
  if (cef) out += "&cef=1";
  if (max_message_size != 0) out += fmt::format("&max_size={}", max_message_size);
  return out;
}

bool resolve(const SyslogTarget& target, ResolvedAddress* address, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = target.transport == Transport::kUdp ? SOCK_DGRAM : SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
  if (IpAddress::parse(target.host)) hints.ai_flags |= AI_NUMERICHOST;
  std::string port = std::to_string(target.port);

  addrinfo* found = nullptr;
  int status = getaddrinfo(target.host.c_str(), port.c_str(), &hints, &found);
  if (status == EAI_ADDRFAMILY || status == EAI_NONAME) {
    // AI_ADDRCONFIG hides ::1 on hosts whose only IPv6 address is loopback.
    hints.ai_flags &= ~AI_ADDRCONFIG;
    status = getaddrinfo(target.host.c_str(), port.c_str(), &hints, &found);
  }
  if (status != 0 || found == nullptr) {
    if (error) {
      *error = fmt::format("syslog target {}: cannot resolve host '{}': {}", target.to_string(),
                           escape_control(target.host), gai_strerror(status));
    }
    return false;
  }

  std::memcpy(&address->storage, found->ai_addr, found->ai_addrlen);
  address->length = found->ai_addrlen;
  char text[INET6_ADDRSTRLEN] = {};
  if (found->ai_family == AF_INET6) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(found->ai_addr);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    address->text = fmt::format("[{}]:{}", text, target.port);
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(found->ai_addr);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    address->text = fmt::format("{}:{}", text, target.port);
  }
  freeaddrinfo(found);
  return true;
}

}  // namespace spamtap::alert
