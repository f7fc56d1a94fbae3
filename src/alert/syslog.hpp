// The alert stage: every event leaves in real time as syslog, to as many receivers as
// the operator names, without ever holding up the analysis.
//
// How to use it (the whole public surface; include this header):
//
//   std::string error;
//   auto alerts = alert::AlertSink::create(
//       {"udp://127.0.0.1:514", "tcp://[::1]:6514?format=3164&cef=1"},
//       alert::AlertOptions{}, &error);          // nullptr + error on a bad target
//   sinks.push_back(alerts.get());               // a RecordSink: only events are used
//   ...                                          // the pipeline calls write_event()
//   alerts->close();                             // drains the queues, bounded wait
//   fmt::print(stderr, "{}\n", alerts->summary());
//
// Targets (SyslogTarget, syslog_target.hpp): `udp://HOST:PORT` or `tcp://HOST:PORT`,
// HOST an IPv4 address, a bracketed IPv6 address or a name (resolved once, in
// create()); PORT defaults to 514. Options as a query string:
//   format=5424|3164   message format (default 5424)
//   cef=1              the MSG is a CEF record instead of plain text
//   facility=NAME|N    kern, user, mail, daemon, ..., local0..local7 or 0..23 (local0)
//   max_size=BYTES     message limit without framing (default 2048 UDP, 8192 TCP)
//
// Messages (syslog_format.hpp): RFC 5424 is
//   <PRI>1 TIME SENSOR spamtap PID RULE [spamtap@32473 rule="4122" name="…" host="…"
//   peer="…" port="25" severity="high" conn="17"] SUMMARY; evidence: EVIDENCE
// with TIME the event's capture time in UTC (microseconds). RFC 3164 is
//   <PRI>Mmm dd hh:mm:ss SENSOR spamtap[PID]: rule=4122 severity=high host=… peer=…
//   port=25 conn=17 [relaying denied] SUMMARY; evidence: EVIDENCE
// in ASCII only. With cef=1 the MSG is
//   CEF:0|spamtap|spamtap|0.1|4122|relaying denied|8|rt=… src=… dst=… dpt=25 cn1=17
//   cn1Label=connection cs1Label=evidence msg=SUMMARY cs1=EVIDENCE
// Wire-derived text is escaped for its place (see syslog_format.hpp); nothing a remote
// host wrote can put a line break or a control byte on the receiver's side. A message
// over the limit is cut between characters and ends with " [truncated]".
// Severity: high -> 3 (err), medium -> 4 (warning), low -> 5 (notice).
//
// Delivery (syslog_sender.hpp): one sender thread per target, fed by a bounded queue
// (drop-newest when full). UDP: one datagram per message. TCP: RFC 6587 octet
// counting, non-blocking connect, reconnect with exponential backoff. Counters:
// sent, dropped (queue full, send error, left at close), reconnects, errors.
//
// Rate limit (rate_limiter.hpp): at most AlertOptions::rate_limit.max_per_window
// alerts per (host, rule) per window of capture time (default 10 per 60 s); the
// rest are counted as suppressed, and the next alert let through carries the count
// (suppressed="N" in the structured data, cnt=N+1 in CEF).
#pragma once

#include "alert/alert_sink.hpp"
#include "alert/rate_limiter.hpp"
#include "alert/syslog_format.hpp"
#include "alert/syslog_sender.hpp"
#include "alert/syslog_target.hpp"
