#include <gtest/gtest.h>

#include <regex>

#include "alert/syslog_format.hpp"
#include "core/text.hpp"

namespace spamtap::alert {
namespace {

// 2026-12-04T16:05:50.123456789Z
constexpr Timestamp kEventTime = seconds(1796400350) + 123'456'789;

Event relay_event() {
  Event event;
  event.time = kEventTime;
  event.host = *IpAddress::parse("10.1.2.3");
  event.peer = *IpAddress::parse("198.51.100.25");
  event.peer_port = 25;
  event.rule = 4122;
  event.severity = Severity::kHigh;
  event.connection_id = 17;
  event.summary = "198.51.100.25 refused to relay for 10.1.2.3 (RCPT TO:<a@b.example>)";
  event.evidence = "554 5.7.1 <a@b.example>: Relay access denied";
  return event;
}

Origin sensor() {
  Origin origin;
  origin.hostname = "sensor1";
  origin.process_id = "4242";
  return origin;
}

MessageSettings settings(SyslogFormat format, bool cef = false, size_t max_size = 2048) {
  MessageSettings s;
  s.format = format;
  s.cef = cef;
  s.facility = 16;
  s.max_size = max_size;
  return s;
}

// CR, LF, NUL, ESC, ']', '"', '\', a lone 0xFF, "é" and U+2028.
const std::string kHostile =
    std::string("a\r\nb") + '\0' + "c\x1b[31m]\"\\d\xFF\xC3\xA9\xE2\x80\xA8";

bool has_raw_control(const std::string& bytes) {
  for (char c : bytes) {
    auto b = static_cast<uint8_t>(c);
    if (b < 0x20 || b == 0x7F) return true;
  }
  return false;
}

TEST(SyslogFormat, Rfc5424ExactBytes) {
  FormattedMessage message =
      format_rfc5424(relay_event(), sensor(), settings(SyslogFormat::kRfc5424));
  EXPECT_FALSE(message.cut);
  EXPECT_EQ(message.bytes,
            "<131>1 2026-12-04T16:05:50.123456Z sensor1 spamtap 4242 4122 "
            "[spamtap@32473 rule=\"4122\" name=\"relaying denied\" host=\"10.1.2.3\" "
            "peer=\"198.51.100.25\" port=\"25\" severity=\"high\" conn=\"17\"] "
            "198.51.100.25 refused to relay for 10.1.2.3 (RCPT TO:<a@b.example>); "
            "evidence: 554 5.7.1 <a@b.example>: Relay access denied");
}

TEST(SyslogFormat, Rfc5424CarriesSuppressedCountAndFacility) {
  MessageSettings s = settings(SyslogFormat::kRfc5424);
  s.facility = 2;  // mail: 2 * 8 + 4 (medium)
  Event event = relay_event();
  event.severity = Severity::kMedium;
  event.summary.clear();
  event.evidence.clear();
  FormattedMessage message = format_rfc5424(event, sensor(), s, AlertNotes{5});
  EXPECT_EQ(message.bytes,
            "<20>1 2026-12-04T16:05:50.123456Z sensor1 spamtap 4242 4122 "
            "[spamtap@32473 rule=\"4122\" name=\"relaying denied\" host=\"10.1.2.3\" "
            "peer=\"198.51.100.25\" port=\"25\" severity=\"medium\" conn=\"17\" "
            "suppressed=\"5\"]");
}

TEST(SyslogFormat, Rfc3164ExactBytes) {
  FormattedMessage message =
      format_rfc3164(relay_event(), sensor(), settings(SyslogFormat::kRfc3164));
  EXPECT_EQ(message.bytes,
            "<131>Dec  4 16:05:50 sensor1 spamtap[4242]: rule=4122 severity=high "
            "host=10.1.2.3 peer=198.51.100.25 port=25 conn=17 [relaying denied] "
            "198.51.100.25 refused to relay for 10.1.2.3 (RCPT TO:<a@b.example>); "
            "evidence: 554 5.7.1 <a@b.example>: Relay access denied");
}

TEST(SyslogFormat, CefExactBytes) {
  FormattedMessage message =
      format_rfc5424(relay_event(), sensor(), settings(SyslogFormat::kRfc5424, true));
  EXPECT_EQ(message.bytes,
            "<131>1 2026-12-04T16:05:50.123456Z sensor1 spamtap 4242 4122 "
            "[spamtap@32473 rule=\"4122\" name=\"relaying denied\" host=\"10.1.2.3\" "
            "peer=\"198.51.100.25\" port=\"25\" severity=\"high\" conn=\"17\"] "
            "CEF:0|spamtap|spamtap|0.1|4122|relaying denied|8|rt=1796400350123 "
            "src=10.1.2.3 dst=198.51.100.25 dpt=25 cn1=17 cn1Label=connection "
            "cs1Label=evidence msg=198.51.100.25 refused to relay for 10.1.2.3 "
            "(RCPT TO:<a@b.example>) cs1=554 5.7.1 <a@b.example>: Relay access denied");
}

TEST(SyslogFormat, CefIpv6AndSuppressedCountIn3164) {
  Event event = relay_event();
  event.host = *IpAddress::parse("2001:db8::5");
  event.peer = *IpAddress::parse("2001:db8::25");
  event.evidence.clear();
  event.summary = "x=1";
  event.severity = Severity::kLow;
  FormattedMessage message =
      format_rfc3164(event, sensor(), settings(SyslogFormat::kRfc3164, true), AlertNotes{2});
  EXPECT_EQ(message.bytes,
            "<133>Dec  4 16:05:50 sensor1 spamtap[4242]: "
            "CEF:0|spamtap|spamtap|0.1|4122|relaying denied|3|rt=1796400350123 "
            "c6a2=2001:db8::5 c6a2Label=Source IPv6 Address "
            "c6a3=2001:db8::25 c6a3Label=Destination IPv6 Address dpt=25 cn1=17 "
            "cn1Label=connection cnt=3 msg=x\\=1");
}

TEST(SyslogEscape, MessageKeepsUtf8AndEscapesControls) {
  std::string out;
  append_escaped(&out, kHostile, EscapeStyle::kMessage);
  EXPECT_EQ(out, "a\\x0d\\x0ab\\x00c\\x1b[31m]\"\\\\d\xEF\xBF\xBD\xC3\xA9\\u2028");
}

TEST(SyslogEscape, AsciiOnlyForRfc3164) {
  std::string out;
  append_escaped(&out, kHostile, EscapeStyle::kMessage, true);
  EXPECT_EQ(out, R"(a\x0d\x0ab\x00c\x1b[31m]"\\d\ufffd\u00e9\u2028)");
  out.clear();
  append_escaped(&out, "\xF0\x9F\x98\x80\xC2\x85", EscapeStyle::kMessage, true);
  EXPECT_EQ(out, R"(\U0001f600\x85)");  // an astral character, then C1 NEL
}

TEST(SyslogEscape, StructuredDataValueRfc5424Section633) {
  std::string out;
  append_escaped(&out, "a\"b]c\\d\n", EscapeStyle::kStructuredDataValue);
  EXPECT_EQ(out, R"(a\"b\]c\\\\d\\x0a)");
}

TEST(SyslogEscape, CefHeaderAndExtension) {
  std::string header;
  append_escaped(&header, "a|b\\c=d\n", EscapeStyle::kCefHeader);
  EXPECT_EQ(header, R"(a\|b\\\\c=d\\x0a)");
  std::string value;
  append_escaped(&value, kHostile + "|k=v", EscapeStyle::kCefValue);
  EXPECT_EQ(value,
            "a\\r\\nb\\\\x00c\\\\x1b[31m]\"\\\\\\\\d\xEF\xBF\xBD\xC3\xA9\\\\u2028|k\\=v");
}

TEST(SyslogFormat, HostileTextNeverReachesTheWireRaw) {
  Event event = relay_event();
  event.summary = kHostile;
  event.evidence = kHostile;
  for (auto format : {SyslogFormat::kRfc5424, SyslogFormat::kRfc3164}) {
    for (bool cef : {false, true}) {
      FormattedMessage message = format_message(event, sensor(), settings(format, cef));
      EXPECT_FALSE(has_raw_control(message.bytes)) << message.bytes;
      EXPECT_EQ(to_valid_utf8(message.bytes), message.bytes);
      if (format == SyslogFormat::kRfc3164) {
        for (char c : message.bytes) EXPECT_LT(static_cast<uint8_t>(c), 0x80);
      }
    }
  }
}

TEST(SyslogFormat, HostileRfc5424MessageExactBytes) {
  Event event = relay_event();
  event.summary = "s]\"";
  event.evidence = kHostile;
  FormattedMessage message =
      format_rfc5424(event, sensor(), settings(SyslogFormat::kRfc5424));
  EXPECT_EQ(message.bytes,
            "<131>1 2026-12-04T16:05:50.123456Z sensor1 spamtap 4242 4122 "
            "[spamtap@32473 rule=\"4122\" name=\"relaying denied\" host=\"10.1.2.3\" "
            "peer=\"198.51.100.25\" port=\"25\" severity=\"high\" conn=\"17\"] "
            "s]\"; evidence: a\\x0d\\x0ab\\x00c\\x1b[31m]\"\\\\d\xEF\xBF\xBD\xC3\xA9\\u2028");
}

TEST(BoundedMessage, CutsBetweenEscapeSequences) {
  BoundedMessage message(20);
  message.append("abc");
  message.append_escaped("\n\n\n\n\n", EscapeStyle::kMessage);
  // 17 bytes left, 12 for the marker: one whole "\x0a" fits, a second would not.
  EXPECT_TRUE(message.cut());
  EXPECT_EQ(message.text(), "abc\\x0a [truncated]");
  message.append("more");
  EXPECT_EQ(message.text(), "abc\\x0a [truncated]");
}

TEST(BoundedMessage, CutsOnUtf8Boundary) {
  BoundedMessage message(20);
  std::string euros;
  for (int i = 0; i < 10; ++i) euros += "\xE2\x82\xAC";
  message.append("ab");
  message.append_escaped(euros, EscapeStyle::kMessage);
  EXPECT_EQ(message.text(), "ab\xE2\x82\xAC\xE2\x82\xAC [truncated]");
  EXPECT_EQ(message.text().size(), 20u);
}

TEST(BoundedMessage, FixedPartThatDoesNotFitEndsTheMessage) {
  BoundedMessage message(16);
  message.append("abcd");
  message.append("0123456789abcdef");
  EXPECT_TRUE(message.cut());
  EXPECT_EQ(message.text(), "abcd [truncated]");
}

TEST(SyslogFormat, TenKilobyteEvidenceIsCutAtTheLimit) {
  Event event = relay_event();
  event.evidence.clear();
  for (int i = 0; i < 5000; ++i) event.evidence += "A\x01";  // 10 KB, each \x01 -> 4 bytes
  for (auto format : {SyslogFormat::kRfc5424, SyslogFormat::kRfc3164}) {
    for (bool cef : {false, true}) {
      FormattedMessage message = format_message(event, sensor(), settings(format, cef, 2048));
      SCOPED_TRACE(message.bytes.substr(0, 80));
      EXPECT_TRUE(message.cut);
      EXPECT_LE(message.bytes.size(), 2048u);
      EXPECT_GE(message.bytes.size(), 2048u - 4);  // at most one escape short
      ASSERT_TRUE(message.bytes.ends_with(std::string(kCutMarker)));
      EXPECT_FALSE(has_raw_control(message.bytes));

      // The evidence part holds only whole "A" and whole escapes.
      std::string body = message.bytes.substr(0, message.bytes.size() - kCutMarker.size());
      size_t start = body.find(cef ? " cs1=" : "evidence: ");
      ASSERT_NE(start, std::string::npos);
      std::string evidence = body.substr(body.find_first_of("=:", start + 1) + 1);
      if (!cef) evidence = evidence.substr(1);  // the space after "evidence:"
      std::string unit = cef ? R"(A\\x01)" : R"(A\x01)";
      std::regex whole(cef ? R"(^(A\\\\x01)*A?$)" : R"(^(A\\x01)*A?$)");
      EXPECT_TRUE(std::regex_match(evidence, whole)) << evidence.substr(evidence.size() - 20);
    }
  }
}

TEST(SyslogFormat, OctetCountingCountsBytes) {
  EXPECT_EQ(frame_octet_counted("abc"), "3 abc");
  EXPECT_EQ(frame_octet_counted("\xC3\xA9"), "2 \xC3\xA9");
  EXPECT_EQ(frame_octet_counted(""), "0 ");
}

TEST(SyslogFormat, OriginIsSanitized) {
  Origin origin;
  origin.hostname = "bad host\n" + std::string(300, 'x');
  origin.process_id = "";
  Origin clean = origin.sanitized();
  EXPECT_EQ(clean.hostname.substr(0, 10), "bad_host_x");
  EXPECT_EQ(clean.hostname.size(), 128u);
  EXPECT_EQ(clean.process_id, "-");
  Origin local = Origin::local();
  EXPECT_FALSE(local.hostname.empty());
  EXPECT_EQ(local.process_id, std::to_string(getpid()));
}

TEST(SyslogFormat, SeverityMapping) {
  EXPECT_EQ(syslog_severity(Severity::kHigh), 3);
  EXPECT_EQ(syslog_severity(Severity::kMedium), 4);
  EXPECT_EQ(syslog_severity(Severity::kLow), 5);
  EXPECT_EQ(cef_severity(Severity::kHigh), 8);
}

}  // namespace
}  // namespace spamtap::alert
