// Content: the bytes that conversations carry. A shared block, built once per
// run from the seed, holds ready-made TLS application-data records and a long
// stretch of prose, so large transfers point into it instead of copying. Small
// messages (TLS hellos, HTTP heads, DNS packets, mail text) are built per
// conversation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.hpp"
#include "synth/random.hpp"

namespace spamtap::synth {

class TcpConversationBuilder;

class ContentLibrary {
 public:
  // A full TLS 1.2/1.3 application-data record: 5-byte header and 16401 bytes.
  static constexpr size_t kTlsRecordLength = 5 + 16384 + 17;

  explicit ContentLibrary(uint64_t seed);

  const uint8_t *base() const { return reinterpret_cast<const uint8_t *>(block_.data()); }
  size_t tls_record_count() const { return tls_records_; }
  size_t tls_record_offset(size_t index) const { return index * kTlsRecordLength; }
  size_t text_offset() const { return text_offset_; }
  size_t text_length() const { return block_.size() - text_offset_; }
  std::string_view text() const { return std::string_view(block_).substr(text_offset_); }
  // A few sentences of prose, for mail bodies and page titles.
  std::string sentences(Random &random, int count) const;
  const std::vector<std::string_view> &words() const { return words_; }

 private:
  std::string block_;
  size_t tls_records_ = 0;
  size_t text_offset_ = 0;
  std::vector<std::string_view> words_;
};

// TLS that looks like TLS 1.3 to a dissector: real hello messages, then opaque
// records.
std::string tls_client_hello(Random &random, std::string_view server_name);
// ServerHello, ChangeCipherSpec and the encrypted rest of the server's
// handshake.
std::string tls_server_handshake(Random &random, std::string_view client_hello);
// ChangeCipherSpec and the encrypted Finished.
std::string tls_client_finished(Random &random);
// Adds `length` bytes of application data as whole records to the builder's
// current message: full records from the library, the tail as a fresh record.
void add_tls_application_data(TcpConversationBuilder &builder, const ContentLibrary &library,
                              Random &random, size_t length);
// Adds `length` bytes of library prose to the builder's current message.
void add_text_body(TcpConversationBuilder &builder, const ContentLibrary &library, Random &random,
                   size_t length);

// DNS messages in wire format.
enum class DnsType : uint16_t { kA = 1, kMx = 15, kAaaa = 28 };
std::string dns_query(uint16_t id, std::string_view name, DnsType type);
struct DnsAnswer {
  std::string address_bytes;  // 4 or 16 bytes for A/AAAA
  uint16_t preference = 0;    // MX only
  std::string exchange;       // MX only
};
// A reply echoing `query`; no answers and `name_error` set gives NXDOMAIN.
std::string dns_response(std::string_view query, DnsType type,
                         const std::vector<DnsAnswer> &answers, uint32_t ttl,
                         bool name_error = false);

// "Tue, 04 Mar 2025 10:15:22 +0000" (RFC 5322) and the HTTP form with "GMT".
std::string mail_date(Timestamp time);
std::string http_date(Timestamp time);
// Letters and digits, e.g. for queue ids and Message-IDs.
std::string random_token(Random &random, size_t length, bool upper_case = false);
// Mail text lines that start with "." get the extra dot of SMTP transparency.
std::string dot_stuff(std::string_view text);

}  // namespace spamtap::synth
