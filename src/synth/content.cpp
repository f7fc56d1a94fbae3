#include "synth/content.hpp"

#include <cstdio>

#include "synth/conversation.hpp"

namespace spamtap::synth {

namespace {

constexpr size_t kSharedTlsRecords = 128;  // 2 MiB of ciphertext-looking records
constexpr size_t kSharedTextBytes = 512 * 1024;

constexpr std::string_view kVocabulary =
    "the of and to in is for on that with as by this be are from at or it an "
    "was have will "
    "we our your you new more about all which can their has but one not time "
    "year people "
    "way day work service report meeting team project plan update review "
    "budget office "
    "schedule network access account system data customer order invoice "
    "delivery quarter "
    "results policy training support request change room building campus "
    "student course "
    "library research group board agenda minutes draft final version document "
    "attached "
    "please note thanks regards following week month today tomorrow morning "
    "afternoon "
    "price product offer travel event news local city market health science "
    "sports "
    "weather music film book article page site online search home contact "
    "information "
    "public private open close start end first last next number total list "
    "item issue "
    "question answer help guide manual file folder share server printer phone "
    "email";

void put16(std::string &out, uint16_t value) {
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value & 0xff));
}

void put24(std::string &out, uint32_t value) {
  out.push_back(static_cast<char>((value >> 16) & 0xff));
  out.push_back(static_cast<char>((value >> 8) & 0xff));
  out.push_back(static_cast<char>(value & 0xff));
}

void put_random(std::string &out, Random &random, size_t length) {
  while (length >= 8) {
    uint64_t word = random.next();
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((word >> (8 * i)) & 0xff));
    length -= 8;
  }
  uint64_t word = random.next();
  for (size_t i = 0; i < length; ++i) out.push_back(static_cast<char>((word >> (8 * i)) & 0xff));
}

void put_record_header(std::string &out, uint8_t type, uint16_t version, size_t length) {
  out.push_back(static_cast<char>(type));
  put16(out, version);
  put16(out, static_cast<uint16_t>(length));
}

// A TLS extension: type, two-byte length, body.
void put_extension(std::string &out, uint16_t type, const std::string &body) {
  put16(out, type);
  put16(out, static_cast<uint16_t>(body.size()));
  out += body;
}

void put_dns_name(std::string &out, std::string_view name) {
  while (!name.empty()) {
    const size_t dot = name.find('.');
    const std::string_view label = name.substr(0, dot);
    out.push_back(static_cast<char>(label.size()));
    out.append(label);
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  out.push_back('\0');
}

// Days since 1970-01-01 to a civil date (proleptic Gregorian).
void civil_from_days(int64_t days, int *year, unsigned *month, unsigned *day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned month_index = (5 * day_of_year + 2) / 153;
  *day = day_of_year - (153 * month_index + 2) / 5 + 1;
  *month = month_index < 10 ? month_index + 3 : month_index - 9;
  *year = static_cast<int>(year_of_era + era * 400 + (*month <= 2 ? 1 : 0));
}

std::string format_date(Timestamp time, const char *zone) {
  static constexpr const char *kDays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  static constexpr const char *kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const int64_t total_seconds = time / kNanosPerSecond;
  const int64_t days = total_seconds / 86400;
  const int64_t second_of_day = total_seconds % 86400;
  int year = 0;
  unsigned month = 0;
  unsigned day = 0;
  civil_from_days(days, &year, &month, &day);
  char text[64];
  std::snprintf(text, sizeof text, "%s, %02u %s %04d %02d:%02d:%02d %s",
                kDays[((days % 7) + 7) % 7], day, kMonths[month - 1], year,
                static_cast<int>(second_of_day / 3600), static_cast<int>(second_of_day / 60 % 60),
                static_cast<int>(second_of_day % 60), zone);
  return text;
}

}  // namespace

ContentLibrary::ContentLibrary(uint64_t seed) {
  Random random(seed ^ 0x636f6e74656e74ULL);
  for (std::string_view rest = kVocabulary; !rest.empty();) {
    const size_t space = rest.find(' ');
    words_.push_back(rest.substr(0, space));
    if (space == std::string_view::npos) break;
    rest.remove_prefix(space + 1);
  }

  block_.reserve(kSharedTlsRecords * kTlsRecordLength + kSharedTextBytes + 256);
  for (size_t i = 0; i < kSharedTlsRecords; ++i) {
    put_record_header(block_, 0x17, 0x0303, kTlsRecordLength - 5);
    put_random(block_, random, kTlsRecordLength - 5);
  }
  tls_records_ = kSharedTlsRecords;
  text_offset_ = block_.size();

  // Prose the way an HTML page or a newsletter carries it: paragraphs of
  // sentences.
  while (block_.size() - text_offset_ < kSharedTextBytes) {
    block_ += "<p>";
    block_ += sentences(random, static_cast<int>(random.between(2, 6)));
    block_ += "</p>\n";
  }
}

std::string ContentLibrary::sentences(Random &random, int count) const {
  std::string out;
  for (int s = 0; s < count; ++s) {
    const int length = static_cast<int>(random.between(6, 18));
    for (int w = 0; w < length; ++w) {
      std::string_view word = words_[random.below(words_.size())];
      if (w == 0) {
        out.push_back(static_cast<char>(word[0] - 'a' + 'A'));
        out.append(word.substr(1));
      } else {
        out.push_back(' ');
        out.append(word);
      }
    }
    out += s + 1 == count ? "." : ". ";
  }
  return out;
}

std::string tls_client_hello(Random &random, std::string_view server_name) {
  std::string body;
  put16(body, 0x0303);
  put_random(body, random, 32);
  body.push_back(32);
  put_random(body, random, 32);
  const uint16_t suites[] = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030};
  put16(body, sizeof suites);
  for (uint16_t suite : suites) put16(body, suite);
  body.push_back(1);
  body.push_back(0);

  std::string extensions;
  std::string sni;
  put16(sni, static_cast<uint16_t>(server_name.size() + 3));
  sni.push_back(0);
  put16(sni, static_cast<uint16_t>(server_name.size()));
  sni.append(server_name);
  put_extension(extensions, 0x0000, sni);
  put_extension(extensions, 0x000b, std::string("\x01\x00", 2));
  std::string groups;
  put16(groups, 6);
  put16(groups, 0x001d);
  put16(groups, 0x0017);
  put16(groups, 0x0018);
  put_extension(extensions, 0x000a, groups);
  std::string signatures;
  const uint16_t schemes[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601};
  put16(signatures, sizeof schemes);
  for (uint16_t scheme : schemes) put16(signatures, scheme);
  put_extension(extensions, 0x000d, signatures);
  std::string versions("\x04\x03\x04\x03\x03", 5);
  put_extension(extensions, 0x002b, versions);
  put_extension(extensions, 0x002d, std::string("\x01\x01", 2));
  std::string key_share;
  put16(key_share, 36);
  put16(key_share, 0x001d);
  put16(key_share, 32);
  put_random(key_share, random, 32);
  put_extension(extensions, 0x0033, key_share);
  put16(body, static_cast<uint16_t>(extensions.size()));
  body += extensions;

  std::string out;
  put_record_header(out, 0x16, 0x0301, body.size() + 4);
  out.push_back(0x01);
  put24(out, static_cast<uint32_t>(body.size()));
  out += body;
  return out;
}

std::string tls_server_handshake(Random &random, std::string_view client_hello) {
  std::string body;
  put16(body, 0x0303);
  put_random(body, random, 32);
  // Echo the client's legacy session id (record 5 + handshake 4 + version 2 +
  // random 32).
  const size_t session_offset = 5 + 4 + 2 + 32;
  const size_t session_length =
      client_hello.size() > session_offset ? static_cast<uint8_t>(client_hello[session_offset]) : 0;
  body.push_back(static_cast<char>(session_length));
  body.append(client_hello.substr(session_offset + 1, session_length));
  put16(body, 0x1301);
  body.push_back(0);
  std::string extensions;
  put_extension(extensions, 0x002b, std::string("\x03\x04", 2));
  std::string key_share;
  put16(key_share, 0x001d);
  put16(key_share, 32);
  put_random(key_share, random, 32);
  put_extension(extensions, 0x0033, key_share);
  put16(body, static_cast<uint16_t>(extensions.size()));
  body += extensions;

  std::string out;
  put_record_header(out, 0x16, 0x0303, body.size() + 4);
  out.push_back(0x02);
  put24(out, static_cast<uint32_t>(body.size()));
  out += body;
  put_record_header(out, 0x14, 0x0303, 1);
  out.push_back(0x01);
  // Encrypted extensions, certificate chain, verify and finished in one record.
  const size_t encrypted = static_cast<size_t>(random.between(2200, 4800));
  put_record_header(out, 0x17, 0x0303, encrypted);
  put_random(out, random, encrypted);
  return out;
}

std::string tls_client_finished(Random &random) {
  std::string out;
  put_record_header(out, 0x14, 0x0303, 1);
  out.push_back(0x01);
  put_record_header(out, 0x17, 0x0303, 53);
  put_random(out, random, 53);
  return out;
}

void add_tls_application_data(TcpConversationBuilder &builder, const ContentLibrary &library,
                              Random &random, size_t length) {
  const size_t record = ContentLibrary::kTlsRecordLength;
  size_t whole = length / record;
  while (whole > 0) {
    // A run of consecutive records from a random place in the shared block.
    const size_t first = random.below(library.tls_record_count());
    const size_t run = std::min(whole, library.tls_record_count() - first);
    builder.add_shared(library.tls_record_offset(first), run * record);
    whole -= run;
  }
  const size_t tail = length % record;
  if (tail > 0) {
    std::string last;
    const size_t payload = std::max<size_t>(tail, 6) - 5;
    put_record_header(last, 0x17, 0x0303, payload);
    put_random(last, random, payload);
    builder.add_text(last);
  }
}

void add_text_body(TcpConversationBuilder &builder, const ContentLibrary &library, Random &random,
                   size_t length) {
  while (length > 0) {
    const size_t start = random.below(library.text_length() / 2);
    const size_t run = std::min(length, library.text_length() - start);
    builder.add_shared(library.text_offset() + start, run);
    length -= run;
  }
}

std::string dns_query(uint16_t id, std::string_view name, DnsType type) {
  std::string out;
  put16(out, id);
  put16(out, 0x0100);  // standard query, recursion desired
  put16(out, 1);
  put16(out, 0);
  put16(out, 0);
  put16(out, 0);
  put_dns_name(out, name);
  put16(out, static_cast<uint16_t>(type));
  put16(out, 1);
  return out;
}

std::string dns_response(std::string_view query, DnsType type,
                         const std::vector<DnsAnswer> &answers, uint32_t ttl, bool name_error) {
  std::string out(query);
  out[2] = static_cast<char>(0x81);
  out[3] = static_cast<char>(name_error ? 0x83 : 0x80);
  out[6] = static_cast<char>(answers.size() >> 8);
  out[7] = static_cast<char>(answers.size() & 0xff);
  for (const DnsAnswer &answer : answers) {
    put16(out, 0xc00c);  // the name of the question
    put16(out, static_cast<uint16_t>(type));
    put16(out, 1);
    put16(out, static_cast<uint16_t>(ttl >> 16));
    put16(out, static_cast<uint16_t>(ttl & 0xffff));
    if (type == DnsType::kMx) {
      std::string data;
      put16(data, answer.preference);
      put_dns_name(data, answer.exchange);
      put16(out, static_cast<uint16_t>(data.size()));
      out += data;
    } else {
      put16(out, static_cast<uint16_t>(answer.address_bytes.size()));
      out += answer.address_bytes;
    }
  }
  return out;
}

std::string mail_date(Timestamp time) { return format_date(time, "+0000"); }
std::string http_date(Timestamp time) { return format_date(time, "GMT"); }

std::string random_token(Random &random, size_t length, bool upper_case) {
  static constexpr std::string_view kLower = "abcdefghijklmnopqrstuvwxyz0123456789";
  static constexpr std::string_view kUpper = "0123456789ABCDEF";
  const std::string_view alphabet = upper_case ? kUpper : kLower;
  std::string out;
  out.reserve(length);
  for (size_t i = 0; i < length; ++i) out.push_back(alphabet[random.below(alphabet.size())]);
  return out;
}

std::string dot_stuff(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  bool line_start = true;
  for (char c : text) {
    if (line_start && c == '.') out.push_back('.');
    out.push_back(c);
    line_start = c == '\n';
  }
  return out;
}

}  // namespace spamtap::synth
