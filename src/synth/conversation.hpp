// Conversations: the packets of one TCP connection or one UDP exchange, built
// as a time-stamped script, and the TrafficWriter that merges many of them by
// time into one pcap file.
//
// The capture point sits between the two ends. Each end has a one-way delay to
// it, so a reply to a packet seen at time t is seen at t + 2 * (delay of the
// replying end) + its think time. The builder keeps sequence and acknowledgment
// numbers right in both directions, splits data at the MSS, paces segments by
// the path rate and the receive window, and acknowledges every second segment.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.hpp"
#include "synth/frame.hpp"
#include "synth/random.hpp"

namespace spamtap::synth {

class PcapWriter;

enum class Side : uint8_t { kOriginator = 0, kResponder = 1 };

inline Side other(Side side) {
  return side == Side::kOriginator ? Side::kResponder : Side::kOriginator;
}

struct PacketRecord {
  Timestamp time = 0;
  uint32_t sequence = 0;
  uint32_t acknowledgment = 0;
  uint32_t payload_offset = 0;
  uint32_t payload_length = 0;
  Side side = Side::kOriginator;
  uint8_t flags = 0;
  bool shared_payload = false;  // payload lies in the shared content block
};

struct Conversation {
  enum class Transport : uint8_t { kTcp, kUdp };

  Transport transport = Transport::kTcp;
  Station originator;
  Station responder;
  uint16_t originator_port = 0;
  uint16_t responder_port = 0;
  uint16_t window[2] = {64240, 64240};
  uint16_t ip_id[2] = {0, 0};
  uint16_t mss = 1460;
  std::string bytes;                     // payloads this conversation owns
  const uint8_t *shared_base = nullptr;  // payloads shared by all conversations
  std::vector<PacketRecord> packets;     // in time order once built
  size_t next_packet = 0;
};

// Where the ends of a path sit relative to the capture point, and how fast it
// is.
struct PathTiming {
  Timestamp originator_delay = 100'000;  // one-way, capture point to the originator
  Timestamp responder_delay = 10'000'000;
  double bits_per_second = 50e6;
};

// Builds one TCP connection. Data is given as a message of pieces (owned text
// or ranges of the shared block), then sent from one side in one go.
class TcpConversationBuilder {
 public:
  TcpConversationBuilder(Conversation &conversation, Timestamp start, const PathTiming &timing,
                         Random &random);

  void handshake();
  // A closed port: SYN answered by RST/ACK.
  void refused();

  void add_text(std::string_view text);
  void add_shared(size_t offset, size_t length);
  // Sends the pieces added since the last send from `side`, `think` after the
  // side could first act (it has seen everything the other side sent).
  void send(Side side, Timestamp think);
  void send_text(Side side, std::string_view text, Timestamp think) {
    add_text(text);
    send(side, think);
  }

  // FIN from `closer`, FIN/ACK back, last ACK.
  void close(Side closer, Timestamp think);
  // RST/ACK from `side`: an abrupt end.
  void reset(Side side, Timestamp think);

  Timestamp ready(Side side) const { return ready_[index(side)]; }
  // Sorts the packets by time; call once at the end.
  void finish();

 private:
  struct Piece {
    bool shared;
    size_t offset;
    size_t length;
  };
  struct PendingAck {
    bool active = false;
    Side side = Side::kOriginator;
    Timestamp time = 0;
  };

  static size_t index(Side side) { return static_cast<size_t>(side); }
  Timestamp delay(Side side) const {
    return side == Side::kOriginator ? timing_.originator_delay : timing_.responder_delay;
  }
  Timestamp small_gap() { return static_cast<Timestamp>(random_.between(20'000, 300'000)); }
  void push(Side side, Timestamp time, uint8_t flags, uint32_t sequence, uint32_t ack,
            const Piece *payload, size_t payload_length);
  void push_ack(Side side, Timestamp time);
  // A pending delayed ACK is sent unless `side` speaks first and carries it.
  void settle_pending(Side next_speaker, Timestamp next_time);

  Conversation &conversation_;
  PathTiming timing_;
  Random &random_;
  Timestamp start_;
  Timestamp ready_[2];
  uint32_t next_sequence_[2];
  std::vector<Piece> pieces_;
  PendingAck pending_;
};

// Appends one UDP datagram to a conversation (the conversation's transport is
// UDP).
void add_datagram(Conversation &conversation, Side side, Timestamp time, std::string_view data);

// Merges conversations by the time of their next packet and writes them.
class TrafficWriter {
 public:
  explicit TrafficWriter(PcapWriter &pcap) : pcap_(pcap) {}

  // The conversation's first packet must not precede what was already written.
  void add(std::unique_ptr<Conversation> conversation);
  bool empty() const { return heap_.empty(); }
  // Time of the next packet to write; only valid when not empty.
  Timestamp next_time() const { return heap_.front().time; }
  void write_next();
  void write_all();

  uint64_t tcp_connections() const { return tcp_connections_; }
  uint64_t udp_exchanges() const { return udp_exchanges_; }
  Timestamp first_time() const { return first_time_; }
  Timestamp last_time() const { return last_time_; }

 private:
  struct Entry {
    Timestamp time;
    uint64_t order;
    std::unique_ptr<Conversation> conversation;
  };
  static bool later(const Entry &a, const Entry &b) {
    return a.time != b.time ? a.time > b.time : a.order > b.order;
  }

  PcapWriter &pcap_;
  std::vector<Entry> heap_;
  uint64_t order_ = 0;
  uint64_t tcp_connections_ = 0;
  uint64_t udp_exchanges_ = 0;
  Timestamp first_time_ = 0;
  Timestamp last_time_ = 0;
};

}  // namespace spamtap::synth
