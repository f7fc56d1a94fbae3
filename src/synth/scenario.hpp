// Scenarios: a whole network's traffic written as one capture plus a truth
// file.
//
// A scenario is an office or campus network (10.20.0.0/16, some desktops also
// on fd7a:1c20:5::/48) with desktops, a mail server, a web server and a DNS
// resolver, and the outside world it talks to. Desktops browse (HTTP and TLS),
// resolve names, read mail over IMAPS and submit mail on 587; the mail server
// delivers to and receives from outside MXes. Some desktops are bots of the
// kinds below. Everything is a pure function of the options: the same options
// give a byte-identical capture.
//
//   ScenarioOptions options = demo_scenario();       // or office_scenario(...)
//   ScenarioSummary summary = write_scenario(options, "demo.pcap");
//   // demo.pcap and demo.pcap.truth.json now exist
//
// LIMITATION: no loss, retransmission, window scaling or STARTTLS on port 25, and
// SMTP runs over IPv4 only; a detector cannot be tested on those from synth files.
// LIMITATION: with a target size the file overshoots by the transfers still open
// when the target is reached (about 10% at 1 GB).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "synth/pcap_writer.hpp"

namespace spamtap::synth {

enum class BotKind {
  kRelayProber,        // asks third-party servers to relay; refused 554/550 5.7.1
  kDeadAddressMailer,  // mails lists full of dead addresses; 550 5.1.1 user
                       // unknown
  kBlocklisted,        // receivers refuse it citing a DNS blocklist with its address
  kFanOut,             // speaks SMTP to port 25 of many distinct outside servers
};

enum class BotHabit {
  kBareIpHelo,                  // HELO/EHLO with an unbracketed address literal
  kPipeliningWithoutExtension,  // batches commands though PIPELINING was not
                                // offered
  kNoQuit,                      // drops the connection instead of QUIT
  kBulkMailer,                  // X-Mailer of a bulk-mailing tool
};

const char *to_string(BotKind kind);
const char *to_string(BotHabit habit);

struct ScenarioOptions {
  std::string name = "office";
  uint64_t seed = 1;
  int hosts = 40;                                       // desktops
  Timestamp start = 1'741'078'800LL * kNanosPerSecond;  // 2025-03-04T09:00:00Z
  Timestamp duration = seconds(3600);
  int bots_per_kind = 1;
  // When not zero, keep generating until the file reaches this size; `duration`
  // is then ignored and capture time runs as long as needed.
  uint64_t target_bytes = 0;
  TimestampPrecision precision = TimestampPrecision::kMicroseconds;

  double ipv6_share = 0.25;            // desktops that also browse over IPv6
  double web_per_desktop_hour = 40;    // TLS page loads; plain HTTP is a fifth of that
  double mail_per_desktop_hour = 2;    // submissions on 587
  double download_scale = 1.0;         // scales web object sizes
  double large_download_share = 0.02;  // responses that are multi-megabyte downloads
  uint64_t max_object_bytes = 60'000'000;
  double bounce_share = 0.03;  // outbound deliveries with one unknown recipient
  int bounce_limit = -1;       // most bounced addresses in the capture; -1: no limit

  // The demo's single infected desktop: relay probing and dead addresses,
  // refused by a receiver citing a blocklist. Replaces the per-kind bots.
  bool demo_bot = false;
};

// The fixed demo: a few hundred KB, a few minutes, exactly one bot.
ScenarioOptions demo_scenario();
ScenarioOptions office_scenario(uint64_t seed, int hosts, Timestamp duration, int bots_per_kind);

struct ScenarioSummary {
  uint64_t packets = 0;
  uint64_t tcp_connections = 0;
  uint64_t udp_exchanges = 0;
  uint64_t file_bytes = 0;
  uint64_t smtp_sessions = 0;
  std::map<int, uint64_t> smtp_reply_codes;  // replies by code (a multi-line reply once)
  int bots = 0;
  Timestamp first_packet = 0;
  Timestamp last_packet = 0;
  double wall_seconds = 0;
  std::string truth_path;
};

// "FILE.truth.json" next to "FILE".
std::string truth_path_for(const std::string &capture_path);

// Writes the capture to `path` and the truth file next to it. Throws
// std::runtime_error when a file cannot be written, std::invalid_argument on
// options out of range.
ScenarioSummary write_scenario(const ScenarioOptions &options, const std::string &path);

}  // namespace spamtap::synth
