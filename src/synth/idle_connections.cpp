#include "synth/idle_connections.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "synth/frame.hpp"

namespace spamtap::synth {

namespace {

constexpr uint32_t kFirstClient = 0xC6120000;  // 198.18.0.0
constexpr uint32_t kServer = 0x0A140019;       // 10.20.0.25
constexpr uint16_t kFirstClientPort = 1024;
// 198.18.0.0/15 has 131,072 addresses.
constexpr uint64_t kMaxConnections = 131'072 * kIdleClientsPerAddress;

Station client_station(uint64_t connection) {
  return Station{
      IpAddress::v4(kFirstClient + static_cast<uint32_t>(connection / kIdleClientsPerAddress)),
      {0x02, 0x00, 0x5e, 0x10, 0x00, 0x01},
      50};
}

uint16_t client_port(uint64_t connection) {
  return static_cast<uint16_t>(kFirstClientPort + connection % kIdleClientsPerAddress);
}

// The initial sequence number of one side of one connection: a fixed scramble of
// (seed, connection, side), so no table of a million entries is needed.
uint32_t initial_sequence(uint64_t seed, uint64_t connection, bool server) {
  uint64_t h = seed ^ (connection * 2 + (server ? 1 : 0)) * 0x9E3779B97F4A7C15ULL;
  h ^= h >> 31;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 29;
  return static_cast<uint32_t>(h >> 32);
}

}  // namespace

IdleConnectionsSummary write_idle_connections(const IdleConnectionsOptions& options,
                                              const std::string& path) {
  if (options.connections == 0 || options.connections > kMaxConnections) {
    throw std::invalid_argument("idle connections: from 1 to " + std::to_string(kMaxConnections) +
                                " connections");
  }
  if (options.server_port == 0) {
    throw std::invalid_argument("idle connections: the server port must not be 0");
  }
  if (options.spacing <= 0 || options.round_trip < 0) {
    throw std::invalid_argument(
        "idle connections: the spacing must be positive and the round trip not negative");
  }

  const Station server{IpAddress::v4(kServer), {0x02, 0x00, 0x0a, 0x14, 0x00, 0x19}, 64};
  const auto* greeting = reinterpret_cast<const uint8_t*>(kIdleGreeting);
  const size_t greeting_length = std::strlen(kIdleGreeting);

  // Each connection's packets are one round trip apart, and a round trip spans many
  // openings, so the connections interleave. Walking the packets in time order:
  // step k of connection n is sent at opening slot n + k * lag, and within one slot the
  // later steps (of older connections) go first so time never runs backwards.
  const uint64_t lag =
      std::max<uint64_t>(1, static_cast<uint64_t>(options.round_trip / options.spacing));

  PcapWriter pcap(path, options.precision);
  IdleConnectionsSummary summary;
  // SYN, SYN-ACK, ACK, and on port 25 the greeting.
  const bool smtp = options.server_port == 25;
  const uint64_t steps = smtp ? 4 : 3;
  const uint64_t last_slot = options.connections - 1 + (steps - 1) * lag;
  for (uint64_t slot = 0; slot <= last_slot; ++slot) {
    for (uint64_t step = steps; step-- > 0;) {
      if (slot < step * lag) continue;
      const uint64_t connection = slot - step * lag;
      if (connection >= options.connections) continue;

      const Station client = client_station(connection);
      const uint32_t client_sequence = initial_sequence(options.seed, connection, false);
      const uint32_t server_sequence = initial_sequence(options.seed, connection, true);
      const bool from_client = step == 0 || step == 2;
      TcpFields tcp;
      tcp.source_port = from_client ? client_port(connection) : options.server_port;
      tcp.destination_port = from_client ? options.server_port : client_port(connection);
      tcp.window = 64240;
      const uint8_t* payload = nullptr;
      size_t payload_length = 0;
      switch (step) {
        case 0:
          tcp.flags = tcp_flag::kSyn;
          tcp.sequence = client_sequence;
          break;
        case 1:
          tcp.flags = tcp_flag::kSyn | tcp_flag::kAck;
          tcp.sequence = server_sequence;
          tcp.acknowledgment = client_sequence + 1;
          break;
        case 2:
          tcp.flags = tcp_flag::kAck;
          tcp.sequence = client_sequence + 1;
          tcp.acknowledgment = server_sequence + 1;
          break;
        default:
          tcp.flags = tcp_flag::kPsh | tcp_flag::kAck;
          tcp.sequence = server_sequence + 1;
          tcp.acknowledgment = client_sequence + 1;
          payload = greeting;
          payload_length = greeting_length;
          break;
      }

      const Timestamp time = options.start + static_cast<Timestamp>(slot) * options.spacing +
                             static_cast<Timestamp>(steps - 1 - step);
      uint8_t* frame = pcap.begin_frame(kMaxFrameLength);
      const size_t length =
          write_tcp_frame(frame, from_client ? client : server, from_client ? server : client,
                          static_cast<uint16_t>(step), tcp, payload, payload_length);
      pcap.commit_frame(time, length);
      if (summary.first_packet == 0) summary.first_packet = time;
      summary.last_packet = time;
    }
  }
  pcap.close();
  summary.packets = pcap.packets();
  summary.file_bytes = pcap.file_bytes();
  return summary;
}

}  // namespace spamtap::synth
