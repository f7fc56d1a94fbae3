// Memory of the flow table with many connections open at once: opens N TCP
// connections (one bare SYN each, distinct ports and addresses, all within the idle
// timeout so none leaves), then reports the resident-set growth per open connection
// next to sizeof(Connection) and its layout, so a miss shows what to shrink.
//   bench_flow_memory [connections]   (default 1,000,000)
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "decode/packet.hpp"
#include "flow/connection.hpp"
#include "flow/flow_table.hpp"

namespace {

using spamtap::Connection;

constexpr double kTargetBytesPerConnection = 200;

class IgnoreEverything final : public spamtap::ConnectionObserver {
 public:
  void on_packet(Connection&, const spamtap::Packet&, bool) override {}
  void on_connection_end(Connection&) override {}
};

size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t total_pages = 0;
  size_t resident_pages = 0;
  statm >> total_pages >> resident_pages;
  return resident_pages * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// Outside senders 198.18.0.0/15 (benchmarking range) to local servers 10.0.0.0/16 on
// port 25: every connection gets its own (address, port) pair on the outside.
spamtap::Packet syn_number(uint64_t n, spamtap::Timestamp time) {
  spamtap::Packet packet;
  packet.time = time;
  packet.wire_length = 54;
  packet.captured_length = 54;
  packet.protocol = spamtap::ip_protocol::kTcp;
  packet.ip_length = 40;
  packet.source = spamtap::IpAddress::v4(0xC6120000u + static_cast<uint32_t>(n / 50'000));
  packet.source_port = static_cast<uint16_t>(1024 + n % 50'000);
  packet.destination = spamtap::IpAddress::v4(0x0A000000u + static_cast<uint32_t>(n % 65'000));
  packet.destination_port = 25;
  packet.tcp_flags = spamtap::tcp_flag::kSyn;
  packet.sequence = static_cast<uint32_t>(n * 2654435761u);
  packet.window = 64240;
  return packet;
}

void print_layout() {
  std::printf("sizeof(Connection) %zu B; layout (offset size field):\n", sizeof(Connection));
#define FIELD(name) \
  std::printf("  %4zu %4zu %s\n", offsetof(Connection, name), sizeof(Connection::name), #name)
  FIELD(id);
  FIELD(key);
  FIELD(first_time);
  FIELD(last_time);
  FIELD(originator);
  FIELD(responder);
  FIELD(tcp_flags_seen);
  FIELD(initial_sequence);
  FIELD(role_rule);
  FIELD(end);
  FIELD(originator_local);
  FIELD(responder_local);
  FIELD(smtp);
  FIELD(missed_bytes);
  FIELD(extension);
  FIELD(older);
  FIELD(newer);
  FIELD(idle_class);
  FIELD(last_sequence);
#undef FIELD
  std::printf("  key: sizeof(ConnectionKey) %zu B, of which two IpAddress of %zu B\n",
              sizeof(spamtap::ConnectionKey), sizeof(spamtap::IpAddress));
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t connections = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  if (connections == 0 || connections > 50'000ULL * 65'536) {
    std::fprintf(stderr, "usage: bench_flow_memory [connections, 1 to 3276800000]\n");
    return 2;
  }

  IgnoreEverything observer;
  spamtap::FlowLimits limits;
  limits.max_connections = connections;
  spamtap::FlowTable table(limits, spamtap::HomeNetworks(), &observer);

  const size_t before = resident_bytes();
  // 10 microseconds apart: a million SYNs span 10 s, far inside the TCP idle timeout.
  const spamtap::Timestamp start = 1'741'078'800LL * spamtap::kNanosPerSecond;
  for (uint64_t n = 0; n < connections; ++n) {
    table.process(syn_number(n, start + static_cast<spamtap::Timestamp>(n) * 10'000));
  }
  const size_t after = resident_bytes();

  if (table.active() != connections) {
    std::fprintf(stderr, "expected %llu open connections, the table has %zu\n",
                 static_cast<unsigned long long>(connections), table.active());
    return 1;
  }
  const double per_connection =
      static_cast<double>(after - before) / static_cast<double>(connections);
  print_layout();
  std::printf("open connections %llu; resident set %.1f MB -> %.1f MB\n",
              static_cast<unsigned long long>(connections), before / 1e6, after / 1e6);
  std::printf("bytes per open connection (resident growth / connections): %.1f B\n",
              per_connection);
  std::printf("  %s at most %.0f B per open connection: %.1f B\n",
              per_connection <= kTargetBytesPerConnection ? "PASS" : "MISS",
              kTargetBytesPerConnection, per_connection);
  return 0;
}
