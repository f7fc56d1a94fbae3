// Event: one finding about one host, with the evidence behind it. Detection makes
// them; the store, the JSON-lines sink and the alerts carry them out unchanged.
#pragma once

#include <cstdint>
#include <string>

#include "core/address.hpp"
#include "core/time.hpp"

namespace spamtap {

enum class Severity : uint8_t { kLow, kMedium, kHigh };

const char* to_string(Severity severity);

struct Event {
  Timestamp time = 0;
  IpAddress host;  // the host the finding is about (the SMTP client)
  IpAddress peer;  // the other end (the server that answered)
  uint16_t peer_port = 0;
  int rule = 0;  // catalog id, e.g. 4122
  Severity severity = Severity::kMedium;
  uint64_t connection_id = 0;
  std::string summary;   // one line for people: what happened, with counts
  std::string evidence;  // the reply text(s) or facts behind it (wire-derived, bounded)
};

// Record 20: software seen on a host: a mail client named in its headers, or the
// banner its SMTP server greets with. Kept per (host, port, role, kind, name).
struct SoftwareRecord {
  Timestamp time = 0;
  IpAddress host;
  uint16_t port = 0;  // the server port for banners; 0 for client software
  std::string role;   // "client" or "server"
  std::string kind;   // "x-mailer", "user-agent", "smtp-banner"
  std::string name;   // wire-derived, bounded
  uint64_t connection_id = 0;
};

}  // namespace spamtap
