// Turns one Event into the bytes of one syslog message: RFC 5424 or RFC 3164, with a
// plain-text or a CEF payload. Everything that came off the wire is escaped so that
// no line break or control byte reaches the receiver, and a message longer than the
// target's limit is cut between two characters or escape sequences (never inside
// one), marked " [truncated]". TCP framing is added by frame_octet_counted().
//
// Escaping, one base form for all outputs: invalid UTF-8 becomes U+FFFD, C0 and C1
// controls and DEL become \xNN, U+2028/U+2029 become \u2028/\u2029, a backslash is
// doubled. On top of that each place adds its own rule:
//   RFC 5424 MSG           base form (UTF-8, no BOM)
//   RFC 5424 PARAM-VALUE   base form, then '"', '\' and ']' preceded by '\' (§6.3.3)
//   RFC 3164 (any part)    base form, then every non-ASCII character as \uXXXX
//   CEF header field       base form, then '|' and '\' preceded by '\'
//   CEF extension value    CR and LF as CEF's \r and \n, other controls in base form,
//                          then '=' and '\' preceded by '\'
// A receiver that undoes its format's escaping gets the base form back: the same text
// the terminal reports show.
//
// Severity: high -> 3 (error), medium -> 4 (warning), low -> 5 (notice). These are
// findings about other hosts, not failures of this system, so nothing is sent at
// critical or above. CEF severity: high 8, medium 5, low 3.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "alert/syslog_target.hpp"
#include "detect/event.hpp"

namespace spamtap::alert {

// The RFC 5424 SD-ID. 32473 is the private enterprise number reserved for
// documentation (RFC 5612).
// LIMITATION: spamtap has no enterprise number of its own; a SIEM rule keyed on the
// SD-ID must use this one.
constexpr std::string_view kStructuredDataId = "spamtap@32473";
constexpr std::string_view kCutMarker = " [truncated]";
constexpr std::string_view kProductVersion = "0.1";

// Who sends: RFC 5424 HOSTNAME, APP-NAME and PROCID (and the RFC 3164 HOSTNAME and TAG).
struct Origin {
  std::string hostname;  // the sensor; printable ASCII, at most 128 bytes
  std::string app_name = "spamtap";
  std::string process_id;

  // This machine's host name and this process's id.
  static Origin local();
  // Keeps printable ASCII only (others become '_'), bounds the lengths, "-" when empty.
  Origin sanitized() const;
};

struct MessageSettings {
  SyslogFormat format = SyslogFormat::kRfc5424;
  bool cef = false;
  int facility = kDefaultFacility;
  size_t max_size = kDefaultUdpMessageSize;

  static MessageSettings from(const SyslogTarget& target);
};

enum class EscapeStyle : uint8_t {
  kMessage,              // RFC 5424 MSG
  kStructuredDataValue,  // RFC 5424 PARAM-VALUE
  kCefHeader,
  kCefValue,
};

// Appends the escaped form of `text` to `out`; ascii_only adds the RFC 3164 rule.
void append_escaped(std::string* out, std::string_view text, EscapeStyle style,
                    bool ascii_only = false);

// A message being built under a byte limit. Fixed parts go in whole or not at all;
// escaped text goes in character by character and, when it does not fit, ends with
// the cut marker. Once anything is cut, later appends do nothing.
class BoundedMessage {
 public:
  explicit BoundedMessage(size_t limit) : limit_(limit) {}

  void append(std::string_view fixed);
  void append_escaped(std::string_view text, EscapeStyle style, bool ascii_only = false);

  bool cut() const { return cut_; }
  const std::string& text() const { return text_; }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
  size_t limit_;
  bool cut_ = false;
};

int syslog_severity(Severity severity);
int cef_severity(Severity severity);

// What the rate limiter adds to the next alert it lets through for a (host, rule).
struct AlertNotes {
  uint64_t suppressed_before = 0;
};

struct FormattedMessage {
  std::string bytes;
  bool cut = false;
};

FormattedMessage format_rfc5424(const Event& event, const Origin& origin,
                                const MessageSettings& settings, const AlertNotes& notes = {});
FormattedMessage format_rfc3164(const Event& event, const Origin& origin,
                                const MessageSettings& settings, const AlertNotes& notes = {});
// The message in the format the settings name.
FormattedMessage format_message(const Event& event, const Origin& origin,
                                const MessageSettings& settings, const AlertNotes& notes = {});

// Appends the CEF record of the event to `message` (used as the syslog MSG).
void append_cef(BoundedMessage* message, const Event& event, const AlertNotes& notes,
                bool ascii_only);

// RFC 6587 octet counting: "LEN SP MSG".
std::string frame_octet_counted(std::string_view message);

}  // namespace spamtap::alert
