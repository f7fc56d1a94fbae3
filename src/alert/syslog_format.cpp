#include "alert/syslog_format.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <ctime>

#include "core/text.hpp"
#include "detect/catalog.hpp"

namespace spamtap::alert {

namespace {

constexpr size_t kMaxHostname = 128;
constexpr size_t kMaxAppName = 48;
constexpr size_t kMaxProcessId = 128;

// Length of the character whose first byte is `lead`, in text that is valid UTF-8.
size_t sequence_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

uint32_t code_point(std::string_view character) {
  auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(character[i])); };
  switch (character.size()) {
    case 1: return byte(0);
    case 2: return ((byte(0) & 0x1F) << 6) | (byte(1) & 0x3F);
    case 3: return ((byte(0) & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
    default:
      return ((byte(0) & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) |
             (byte(3) & 0x3F);
  }
}

bool is_control(uint32_t code) {
  return code < 0x20 || code == 0x7F || (code >= 0x80 && code < 0xA0);
}

// Appends the escaped form of one character of valid UTF-8.
void append_character(std::string* out, std::string_view character, EscapeStyle style,
                      bool ascii_only) {
  uint32_t code = code_point(character);
  // Outside the plain MSG, a backslash that the base form writes is itself escaped.
  std::string_view backslash = style == EscapeStyle::kMessage ? "\\" : "\\\\";

  if (style == EscapeStyle::kCefValue && (code == '\n' || code == '\r')) {
    *out += code == '\n' ? "\\n" : "\\r";
  } else if (is_control(code)) {
    *out += backslash;
    *out += fmt::format("x{:02x}", code);
  } else if (code == 0x2028 || code == 0x2029) {
    *out += backslash;
    *out += fmt::format("u{:04x}", code);
  } else if (code == '\\') {
    *out += backslash;
    *out += backslash;
  } else if (style == EscapeStyle::kStructuredDataValue && (code == '"' || code == ']')) {
    *out += '\\';
    *out += static_cast<char>(code);
  } else if (style == EscapeStyle::kCefHeader && code == '|') {
    *out += "\\|";
  } else if (style == EscapeStyle::kCefValue && code == '=') {
    *out += "\\=";
  } else if (ascii_only && code >= 0x80) {
    *out += backslash;
    *out += code > 0xFFFF ? fmt::format("U{:08x}", code) : fmt::format("u{:04x}", code);
  } else {
    out->append(character);
  }
}

template <typename Visit>
void for_each_character(std::string_view valid_utf8, Visit visit) {
  for (size_t at = 0; at < valid_utf8.size();) {
    size_t length = sequence_length(static_cast<uint8_t>(valid_utf8[at]));
    if (!visit(valid_utf8.substr(at, length))) return;
    at += length;
  }
}

std::string structured_data(const Event& event, const AlertNotes& notes) {
  const RuleInfo* rule = find_rule(event.rule);
  std::string out = "[";
  out += kStructuredDataId;
  auto param = [&](std::string_view name, std::string_view value) {
    out += ' ';
    out += name;
    out += "=\"";
    append_escaped(&out, value, EscapeStyle::kStructuredDataValue);
    out += '"';
  };
  param("rule", std::to_string(event.rule));
  if (rule) param("name", rule->name);
  param("host", event.host.to_string());
  param("peer", event.peer.to_string());
  param("port", std::to_string(event.peer_port));
  param("severity", to_string(event.severity));
  param("conn", std::to_string(event.connection_id));
  if (notes.suppressed_before > 0) param("suppressed", std::to_string(notes.suppressed_before));
  out += ']';
  return out;
}

// Summary, then the evidence: the plain-text MSG of both formats.
void append_text_payload(BoundedMessage* message, const Event& event, bool ascii_only) {
  message->append_escaped(event.summary, EscapeStyle::kMessage, ascii_only);
  if (event.evidence.empty()) return;
  message->append(event.summary.empty() ? "evidence: " : "; evidence: ");
  message->append_escaped(event.evidence, EscapeStyle::kMessage, ascii_only);
}

std::string rfc3164_timestamp(Timestamp time) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int64_t secs = time / kNanosPerSecond;
  if (time % kNanosPerSecond < 0) secs -= 1;
  time_t t = static_cast<time_t>(secs);
  struct tm parts {};
  gmtime_r(&t, &parts);
  return fmt::format("{} {:>2} {:02}:{:02}:{:02}", kMonths[parts.tm_mon % 12], parts.tm_mday,
                     parts.tm_hour, parts.tm_min, parts.tm_sec);
}

int priority(const MessageSettings& settings, Severity severity) {
  return settings.facility * 8 + syslog_severity(severity);
}

std::string printable_ascii(std::string_view text, size_t max) {
  std::string out;
  for (char c : text.substr(0, max)) {
    auto byte = static_cast<uint8_t>(c);
    out += byte >= 33 && byte <= 126 ? c : '_';
  }
  return out.empty() ? std::string("-") : out;
}

}  // namespace

Origin Origin::local() {
  Origin origin;
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) == 0) origin.hostname = name;
  origin.process_id = std::to_string(getpid());
  return origin.sanitized();
}

Origin Origin::sanitized() const {
  Origin out;
  out.hostname = printable_ascii(hostname, kMaxHostname);
  out.app_name = printable_ascii(app_name, kMaxAppName);
  out.process_id = printable_ascii(process_id, kMaxProcessId);
  return out;
}

MessageSettings MessageSettings::from(const SyslogTarget& target) {
  MessageSettings settings;
  settings.format = target.format;
  settings.cef = target.cef;
  settings.facility = target.facility;
  settings.max_size = target.message_limit();
  return settings;
}

void append_escaped(std::string* out, std::string_view text, EscapeStyle style,
                    bool ascii_only) {
  std::string valid = to_valid_utf8(text);
  for_each_character(valid, [&](std::string_view character) {
    append_character(out, character, style, ascii_only);
    return true;
  });
}

void BoundedMessage::append(std::string_view fixed) {
  if (cut_) return;
  if (text_.size() + fixed.size() <= limit_) {
    text_ += fixed;
    return;
  }
  cut_ = true;
  if (text_.size() + kCutMarker.size() <= limit_) text_ += kCutMarker;
}

void BoundedMessage::append_escaped(std::string_view text, EscapeStyle style, bool ascii_only) {
  if (cut_) return;
  std::string escaped;
  alert::append_escaped(&escaped, text, style, ascii_only);
  if (text_.size() + escaped.size() <= limit_) {
    text_ += escaped;
    return;
  }

  // Too long: take whole characters (each with its whole escape) while they fit with
  // the marker after them.
  cut_ = true;
  size_t budget = limit_ > text_.size() ? limit_ - text_.size() : 0;
  if (budget < kCutMarker.size()) return;
  size_t room = budget - kCutMarker.size();
  std::string valid = to_valid_utf8(text);
  std::string unit;
  for_each_character(valid, [&](std::string_view character) {
    unit.clear();
    append_character(&unit, character, style, ascii_only);
    if (unit.size() > room) return false;
    text_ += unit;
    room -= unit.size();
    return true;
  });
  text_ += kCutMarker;
}

int syslog_severity(Severity severity) {
  switch (severity) {
    case Severity::kHigh: return 3;
    case Severity::kMedium: return 4;
    case Severity::kLow: return 5;
  }
  return 4;
}

int cef_severity(Severity severity) {
  switch (severity) {
    case Severity::kHigh: return 8;
    case Severity::kMedium: return 5;
    case Severity::kLow: return 3;
  }
  return 5;
}

void append_cef(BoundedMessage* message, const Event& event, const AlertNotes& notes,
                bool ascii_only) {
  const RuleInfo* rule = find_rule(event.rule);
  std::string header = "CEF:0|spamtap|spamtap|";
  header += kProductVersion;
  header += '|';
  append_escaped(&header, std::to_string(event.rule), EscapeStyle::kCefHeader, ascii_only);
  header += '|';
  append_escaped(&header, rule ? rule->name : std::string_view("unknown rule"),
                 EscapeStyle::kCefHeader, ascii_only);
  header += fmt::format("|{}|", cef_severity(event.severity));

  // Extension: fixed-size fields first, wire-derived text last so a cut only shortens it.
  std::string extension = fmt::format("rt={}", event.time / 1'000'000);
  auto address = [&](const IpAddress& ip, const char* v4_key, const char* v6_key,
                     const char* v6_label) {
    if (ip.is_v6()) {
      extension += fmt::format(" {}={} {}Label={}", v6_key, ip.to_string(), v6_key, v6_label);
    } else {
      extension += fmt::format(" {}={}", v4_key, ip.to_string());
    }
  };
  address(event.host, "src", "c6a2", "Source IPv6 Address");
  address(event.peer, "dst", "c6a3", "Destination IPv6 Address");
  extension += fmt::format(" dpt={} cn1={} cn1Label=connection", event.peer_port,
                           event.connection_id);
  if (notes.suppressed_before > 0) {
    extension += fmt::format(" cnt={}", notes.suppressed_before + 1);
  }
  if (!event.evidence.empty()) extension += " cs1Label=evidence";

  message->append(header);
  message->append(extension);
  message->append(" msg=");
  message->append_escaped(event.summary, EscapeStyle::kCefValue, ascii_only);
  if (!event.evidence.empty()) {
    message->append(" cs1=");
    message->append_escaped(event.evidence, EscapeStyle::kCefValue, ascii_only);
  }
}

FormattedMessage format_rfc5424(const Event& event, const Origin& origin,
                                const MessageSettings& settings, const AlertNotes& notes) {
  Origin sender = origin.sanitized();
  BoundedMessage message(settings.max_size);
  message.append(fmt::format("<{}>1 {} {} {} {} {} ", priority(settings, event.severity),
                             format_iso8601(event.time, 6), sender.hostname, sender.app_name,
                             sender.process_id, event.rule));
  message.append(structured_data(event, notes));

  if (settings.cef) {
    message.append(" ");
    append_cef(&message, event, notes, false);
  } else if (!event.summary.empty() || !event.evidence.empty()) {
    message.append(" ");
    append_text_payload(&message, event, false);
  }
  return {message.take(), message.cut()};
}

FormattedMessage format_rfc3164(const Event& event, const Origin& origin,
                                const MessageSettings& settings, const AlertNotes& notes) {
  Origin sender = origin.sanitized();
  BoundedMessage message(settings.max_size);
  message.append(fmt::format("<{}>{} {} {}[{}]: ", priority(settings, event.severity),
                             rfc3164_timestamp(event.time), sender.hostname, sender.app_name,
                             sender.process_id));

  if (settings.cef) {
    append_cef(&message, event, notes, true);
    return {message.take(), message.cut()};
  }

  const RuleInfo* rule = find_rule(event.rule);
  std::string fields =
      fmt::format("rule={} severity={} host={} peer={} port={} conn={}", event.rule,
                  to_string(event.severity), event.host.to_string(), event.peer.to_string(),
                  event.peer_port, event.connection_id);
  if (notes.suppressed_before > 0) fields += fmt::format(" suppressed={}", notes.suppressed_before);
  message.append(fields);
  message.append(" [");
  message.append_escaped(rule ? rule->name : std::string_view("unknown rule"),
                         EscapeStyle::kMessage, true);
  message.append("] ");
  append_text_payload(&message, event, true);
  return {message.take(), message.cut()};
}

FormattedMessage format_message(const Event& event, const Origin& origin,
                                const MessageSettings& settings, const AlertNotes& notes) {
  return settings.format == SyslogFormat::kRfc5424
             ? format_rfc5424(event, origin, settings, notes)
             : format_rfc3164(event, origin, settings, notes);
}

std::string frame_octet_counted(std::string_view message) {
  std::string framed = std::to_string(message.size());
  framed += ' ';
  framed += message;
  return framed;
}

}  // namespace spamtap::alert
