// Idle connections: a capture that holds many TCP connections open at the same
// time, for measuring what an open connection costs in memory.
//
// Outside clients (198.18.0.0/15, the benchmarking range) connect to one port of one
// local server (10.20.0.25), port 25 unless told otherwise. Each connection is a
// handshake, then on port 25 the server's SMTP greeting, and then silence: the client
// never speaks and nothing is closed. By default a connection opens every 20 µs (a million
// in 20 s), so up to ten million open within a 300 s TCP idle timeout and at the end of
// the capture all of them are open at once. On another port the handshake alone shows
// what a connection costs without an SMTP analyzer.
//
// Connection n (counting from 0) comes from 198.18.0.0 + n / 60000, port
// 1024 + n % 60000, and opens at start + n * spacing; its SYN-ACK, ACK and greeting
// (on port 25) follow one round trip apart. Everything is a pure function of the
// options.
#pragma once

#include <cstdint>
#include <string>

#include "core/time.hpp"
#include "synth/pcap_writer.hpp"

namespace spamtap::synth {

struct IdleConnectionsOptions {
  uint64_t connections = 1'000'000;
  uint64_t seed = 1;          // initial sequence numbers
  uint16_t server_port = 25;  // 25: the server greets; any other: handshake only
  Timestamp start = 1'741'078'800LL * kNanosPerSecond;  // 2025-03-04T09:00:00Z
  Timestamp spacing = 20'000;                           // between connection openings
  Timestamp round_trip = 1'000'000;                     // between a packet and its answer
  TimestampPrecision precision = TimestampPrecision::kMicroseconds;
};

// The greeting every connection's server sends.
inline constexpr char kIdleGreeting[] = "220 mail.office.example ESMTP\r\n";
// Clients per outside address before the next address is used.
inline constexpr uint64_t kIdleClientsPerAddress = 60'000;

struct IdleConnectionsSummary {
  uint64_t packets = 0;
  uint64_t file_bytes = 0;
  Timestamp first_packet = 0;
  Timestamp last_packet = 0;
};

// Writes the capture to `path`. Throws std::invalid_argument when there are no
// connections or more than the client addresses can tell apart, or when the spacing
// is not positive, or the server port is 0; std::runtime_error when the file cannot be written.
IdleConnectionsSummary write_idle_connections(const IdleConnectionsOptions& options,
                                              const std::string& path);

}  // namespace spamtap::synth
