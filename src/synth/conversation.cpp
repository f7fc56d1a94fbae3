#include "synth/conversation.hpp"

#include <algorithm>
#include <stdexcept>

#include "synth/pcap_writer.hpp"

namespace spamtap::synth {

TcpConversationBuilder::TcpConversationBuilder(Conversation &conversation, Timestamp start,
                                               const PathTiming &timing, Random &random)
    : conversation_(conversation),
      timing_(timing),
      random_(random),
      start_(start),
      ready_{start, start},
      next_sequence_{static_cast<uint32_t>(random.next()), static_cast<uint32_t>(random.next())} {
  conversation_.transport = Conversation::Transport::kTcp;
  conversation_.mss = conversation_.originator.address.is_v6() ? 1440 : 1460;
  conversation_.ip_id[0] = static_cast<uint16_t>(random.next());
  conversation_.ip_id[1] = static_cast<uint16_t>(random.next());
}

void TcpConversationBuilder::push(Side side, Timestamp time, uint8_t flags, uint32_t sequence,
                                  uint32_t ack, const Piece *payload, size_t payload_length) {
  PacketRecord record;
  record.time = time;
  record.side = side;
  record.flags = flags;
  record.sequence = sequence;
  record.acknowledgment = ack;
  if (payload != nullptr) {
    record.shared_payload = payload->shared;
    record.payload_offset = static_cast<uint32_t>(payload->offset);
    record.payload_length = static_cast<uint32_t>(payload_length);
  }
  conversation_.packets.push_back(record);
}

void TcpConversationBuilder::push_ack(Side side, Timestamp time) {
  push(side, time, tcp_flag::kAck, next_sequence_[index(side)], next_sequence_[index(other(side))],
       nullptr, 0);
}

void TcpConversationBuilder::handshake() {
  const Side originator = Side::kOriginator;
  const Side responder = Side::kResponder;
  push(originator, start_, tcp_flag::kSyn, next_sequence_[0]++, 0, nullptr, 0);

  const Timestamp syn_ack_time = start_ + 2 * delay(responder) + small_gap();
  push(responder, syn_ack_time, tcp_flag::kSyn | tcp_flag::kAck, next_sequence_[1]++,
       next_sequence_[0], nullptr, 0);

  const Timestamp ack_time = syn_ack_time + 2 * delay(originator) + small_gap();
  push_ack(originator, ack_time);
  ready_[0] = ack_time;
  ready_[1] = ack_time + 2 * delay(responder);
}

void TcpConversationBuilder::refused() {
  push(Side::kOriginator, start_, tcp_flag::kSyn, next_sequence_[0]++, 0, nullptr, 0);
  const Timestamp reset_time = start_ + 2 * delay(Side::kResponder) + small_gap();
  push(Side::kResponder, reset_time, tcp_flag::kRst | tcp_flag::kAck, 0, next_sequence_[0], nullptr,
       0);
  ready_[0] = ready_[1] = reset_time;
}

void TcpConversationBuilder::add_text(std::string_view text) {
  if (text.empty()) return;
  // Text appended back to back stays one piece, so segments are filled to the
  // MSS.
  const size_t offset = conversation_.bytes.size();
  if (!pieces_.empty() && !pieces_.back().shared &&
      pieces_.back().offset + pieces_.back().length == offset) {
    pieces_.back().length += text.size();
  } else {
    pieces_.push_back({false, offset, text.size()});
  }
  conversation_.bytes.append(text);
}

void TcpConversationBuilder::add_shared(size_t offset, size_t length) {
  if (length == 0) return;
  if (!pieces_.empty() && pieces_.back().shared &&
      pieces_.back().offset + pieces_.back().length == offset) {
    pieces_.back().length += length;
    return;
  }
  pieces_.push_back({true, offset, length});
}

void TcpConversationBuilder::settle_pending(Side next_speaker, Timestamp next_time) {
  if (!pending_.active) return;
  pending_.active = false;
  // The ACK rides on the next data segment when that side speaks before its
  // timer.
  if (pending_.side == next_speaker && next_time <= pending_.time) return;
  push_ack(pending_.side, pending_.time);
}

void TcpConversationBuilder::send(Side side, Timestamp think) {
  if (pieces_.empty()) return;
  const Side receiver = other(side);
  const size_t sender_index = index(side);
  const size_t receiver_index = index(receiver);
  Timestamp time = ready_[sender_index] + think;
  settle_pending(side, time);

  // Pace by the path rate, and never keep more than a receive window in flight.
  const Timestamp round_trip = 2 * (delay(side) + delay(receiver));
  const double window = conversation_.window[receiver_index];
  const size_t mss = conversation_.mss;
  auto interval_for = [&](size_t length) {
    const double serialization =
        (static_cast<double>(length) + 78.0) * 8.0 * 1e9 / timing_.bits_per_second;
    const double window_limited = static_cast<double>(round_trip) * length / window;
    return static_cast<Timestamp>(std::max(serialization, window_limited)) + 1000;
  };

  size_t segments = 0;
  Timestamp last_time = time;
  for (size_t p = 0; p < pieces_.size(); ++p) {
    Piece piece = pieces_[p];
    while (piece.length > 0) {
      const size_t length = std::min(piece.length, mss);
      const bool last = p + 1 == pieces_.size() && length == piece.length;
      const uint8_t flags = last ? (tcp_flag::kAck | tcp_flag::kPsh) : tcp_flag::kAck;
      push(side, time, flags, next_sequence_[sender_index], next_sequence_[receiver_index], &piece,
           length);
      next_sequence_[sender_index] += static_cast<uint32_t>(length);
      piece.offset += length;
      piece.length -= length;
      ++segments;
      last_time = time;

      // The receiver acknowledges every second segment; the last one waits
      // below.
      if (!last && segments % 2 == 0) {
        const Timestamp ack_time = time + 2 * delay(receiver) + small_gap();
        push(receiver, ack_time, tcp_flag::kAck, next_sequence_[receiver_index],
             next_sequence_[sender_index], nullptr, 0);
      }
      time += interval_for(length);
    }
  }
  pieces_.clear();

  // A lone last segment waits for the delayed-ACK timer; a pair is acknowledged
  // at once.
  const Timestamp ack_wait =
      segments % 2 == 1 ? random_.between(1'000'000, 40'000'000) : small_gap();
  pending_ = {true, receiver, last_time + 2 * delay(receiver) + ack_wait};
  ready_[receiver_index] = std::max(ready_[receiver_index], last_time + 2 * delay(receiver));
  ready_[sender_index] = std::max(ready_[sender_index], last_time + small_gap());
}

void TcpConversationBuilder::close(Side closer, Timestamp think) {
  const Side peer = other(closer);
  const Timestamp fin_time = ready_[index(closer)] + think;
  settle_pending(closer, fin_time);
  push(closer, fin_time, tcp_flag::kFin | tcp_flag::kAck, next_sequence_[index(closer)]++,
       next_sequence_[index(peer)], nullptr, 0);

  const Timestamp peer_fin_time =
      std::max(fin_time + 2 * delay(peer), ready_[index(peer)]) + small_gap();
  push(peer, peer_fin_time, tcp_flag::kFin | tcp_flag::kAck, next_sequence_[index(peer)]++,
       next_sequence_[index(closer)], nullptr, 0);

  const Timestamp last_ack_time = peer_fin_time + 2 * delay(closer) + small_gap();
  push_ack(closer, last_ack_time);
  ready_[0] = ready_[1] = last_ack_time;
}

void TcpConversationBuilder::reset(Side side, Timestamp think) {
  const Timestamp reset_time = ready_[index(side)] + think;
  if (pending_.active && pending_.time < reset_time) push_ack(pending_.side, pending_.time);
  pending_.active = false;
  push(side, reset_time, tcp_flag::kRst | tcp_flag::kAck, next_sequence_[index(side)],
       next_sequence_[index(other(side))], nullptr, 0);
  ready_[0] = ready_[1] = reset_time;
}

void TcpConversationBuilder::finish() {
  if (pending_.active) push_ack(pending_.side, pending_.time);
  pending_.active = false;
  std::stable_sort(conversation_.packets.begin(), conversation_.packets.end(),
                   [](const PacketRecord &a, const PacketRecord &b) { return a.time < b.time; });
}

void add_datagram(Conversation &conversation, Side side, Timestamp time, std::string_view data) {
  conversation.transport = Conversation::Transport::kUdp;
  PacketRecord record;
  record.time = time;
  record.side = side;
  record.payload_offset = static_cast<uint32_t>(conversation.bytes.size());
  record.payload_length = static_cast<uint32_t>(data.size());
  conversation.bytes.append(data);
  conversation.packets.push_back(record);
}

void TrafficWriter::add(std::unique_ptr<Conversation> conversation) {
  if (conversation->transport == Conversation::Transport::kTcp) {
    ++tcp_connections_;
  } else {
    ++udp_exchanges_;
  }
  if (conversation->packets.empty()) return;
  if (conversation->packets.front().time < last_time_) {
    throw std::logic_error("synth: conversation starts before packets already written");
  }
  const Timestamp first = conversation->packets.front().time;
  heap_.push_back(Entry{first, order_++, std::move(conversation)});
  std::push_heap(heap_.begin(), heap_.end(), later);
}

void TrafficWriter::write_next() {
  std::pop_heap(heap_.begin(), heap_.end(), later);
  Entry &entry = heap_.back();
  Conversation &conversation = *entry.conversation;
  const PacketRecord &record = conversation.packets[conversation.next_packet++];

  const bool from_originator = record.side == Side::kOriginator;
  const Station &from = from_originator ? conversation.originator : conversation.responder;
  const Station &to = from_originator ? conversation.responder : conversation.originator;
  const uint16_t from_port =
      from_originator ? conversation.originator_port : conversation.responder_port;
  const uint16_t to_port =
      from_originator ? conversation.responder_port : conversation.originator_port;
  const uint16_t ip_id = conversation.ip_id[static_cast<size_t>(record.side)]++;
  const uint8_t *payload =
      (record.shared_payload ? conversation.shared_base
                             : reinterpret_cast<const uint8_t *>(conversation.bytes.data())) +
      record.payload_offset;

  uint8_t *frame = pcap_.begin_frame(kMaxFrameLength);
  size_t length = 0;
  if (conversation.transport == Conversation::Transport::kTcp) {
    TcpFields tcp;
    tcp.source_port = from_port;
    tcp.destination_port = to_port;
    tcp.sequence = record.sequence;
    tcp.acknowledgment = record.acknowledgment;
    tcp.flags = record.flags;
    tcp.window = conversation.window[static_cast<size_t>(record.side)];
    tcp.mss = conversation.mss;
    length = write_tcp_frame(frame, from, to, ip_id, tcp, payload, record.payload_length);
  } else {
    length =
        write_udp_frame(frame, from, to, ip_id, from_port, to_port, payload, record.payload_length);
  }
  if (record.time < last_time_) {
    throw std::logic_error("synth: packet out of time order");
  }
  pcap_.commit_frame(record.time, length);
  if (pcap_.packets() == 1) first_time_ = record.time;
  last_time_ = record.time;

  if (conversation.next_packet < conversation.packets.size()) {
    entry.time = conversation.packets[conversation.next_packet].time;
    std::push_heap(heap_.begin(), heap_.end(), later);
  } else {
    heap_.pop_back();
  }
}

void TrafficWriter::write_all() {
  while (!heap_.empty()) write_next();
}

}  // namespace spamtap::synth
