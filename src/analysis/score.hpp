// Host spam score: each event adds its rule's weight, halved for every `half_life` it
// lies before the newest event in the store, and each rule's contribution is capped
// so that one noisy rule cannot make a suspect alone. Behaviour moves the score: a
// host that reads mail over IMAP/POP3 or submits on 587/465 (what a mail user does) is
// discounted; a host that speaks SMTP to port 25 of many outside servers (what a bot
// does) is charged; a host that receives mail as a server is discounted. A suspect is a
// host whose score reaches `threshold`. The report lists the terms behind each score.
#pragma once

#include <map>

#include "analysis/suspects.hpp"

namespace spamtap {

struct ScoreSettings {
  double threshold = 5.0;
  Timestamp half_life = seconds(24 * 3600);
  double rule_cap = 3.0;  // at most this many decayed events count per rule
  std::map<int, double> weights{{4122, 4.0}, {4123, 5.0}, {4124, 4.0}, {4125, 3.0},
                                {4126, 4.0}, {4127, 1.0}, {4184, 2.0}, {4185, 3.0},
                                {4300, 1.0}, {4301, 0.5}, {4302, 1.0}};
  double mail_user_discount = 2.0;       // IMAP/POP3 reading or 587/465 submission
  double mail_server_discount = 3.0;     // serves SMTP to others
  double port25_server_charge = 0.5;     // per distinct outside port-25 server beyond 2 ...
  double port25_charge_cap = 4.0;        // ... up to this much
};

// Suspects with their scores, highest first; `all_hosts` keeps hosts below threshold.
Table scored_suspects_report(sqlite3* db, const ReportFilter& filter,
                             const ScoreSettings& settings, bool all_hosts);

}  // namespace spamtap
