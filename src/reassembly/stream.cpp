#include "reassembly/stream.hpp"

#include <algorithm>
#include <cstring>

namespace spamtap {

namespace {
// Segments further than this from the expected offset are not part of this stream's
// window (a bogus sequence number, or a new conversation on the same ports).
constexpr int64_t kMaxWindowDistance = 64LL * 1024 * 1024;
}  // namespace

void StreamReassembler::start(uint32_t initial_sequence) {
  if (started_) return;
  started_ = true;
  base_sequence_ = initial_sequence + 1;
  next_offset_ = 0;
}

uint64_t StreamReassembler::offset_of(uint32_t sequence) const {
  // Unwrap relative to the next expected byte; 32-bit sequence space wraps.
  uint32_t expected = base_sequence_ + static_cast<uint32_t>(next_offset_);
  int64_t distance = static_cast<int32_t>(sequence - expected);
  int64_t offset = static_cast<int64_t>(next_offset_) + distance;
  return offset < 0 ? UINT64_MAX : static_cast<uint64_t>(offset);
}

void StreamReassembler::segment(Timestamp time, uint32_t sequence, std::span<const uint8_t> payload,
                                StreamSink& sink) {
  if (payload.empty()) return;
  if (!started_) {
    started_ = true;
    base_sequence_ = sequence;
    next_offset_ = 0;
  }
  uint64_t offset = offset_of(sequence);
  if (offset == UINT64_MAX) {
    // Starts before offset 0: only the part at or after it can be new.
    uint32_t expected = base_sequence_ + static_cast<uint32_t>(next_offset_);
    uint64_t behind = static_cast<uint32_t>(expected - sequence);
    if (behind >= payload.size()) {
      counters_.retransmitted_bytes += payload.size();
      return;
    }
    counters_.retransmitted_bytes += behind;
    payload = payload.subspan(behind);
    offset = next_offset_;
  }
  if (static_cast<int64_t>(offset - next_offset_) > kMaxWindowDistance && offset > next_offset_) {
    counters_.dropped_segments++;
    return;
  }

  uint64_t end = offset + payload.size();
  if (end <= next_offset_) {
    counters_.retransmitted_bytes += payload.size();
    return;
  }
  if (offset <= next_offset_) {
    deliver(time, offset, payload, sink);
    drain(time, sink);
    return;
  }

  counters_.out_of_order_segments++;
  buffer(offset, payload);
  while (buffered_bytes_ > limits_.max_buffered_bytes ||
         pending_.size() > limits_.max_buffered_segments) {
    // The hole is not going to be filled in time: give up on it.
    skip_to(time, pending_.begin()->first, sink);
    drain(time, sink);
  }
}

void StreamReassembler::buffer(uint64_t offset, std::span<const uint8_t> bytes) {
  // First copy wins: trim the new segment against what is already held, and count
  // the bytes that disagree with it.
  uint64_t end = offset + bytes.size();
  uint64_t cursor = offset;
  auto it = pending_.upper_bound(offset);
  if (it != pending_.begin()) --it;
  while (cursor < end) {
    while (it != pending_.end() && it->first + it->second.size() <= cursor) ++it;
    uint64_t next_start = it == pending_.end() ? end : std::min<uint64_t>(it->first, end);
    if (next_start > cursor) {
      auto piece = bytes.subspan(cursor - offset, next_start - cursor);
      pending_.emplace(cursor, std::vector<uint8_t>(piece.begin(), piece.end()));
      buffered_bytes_ += piece.size();
      cursor = next_start;
      continue;
    }
    // Overlap with a held segment starting at or before cursor.
    uint64_t held_end = it->first + it->second.size();
    uint64_t overlap_end = std::min(held_end, end);
    for (uint64_t i = cursor; i < overlap_end; ++i) {
      if (it->second[i - it->first] != bytes[i - offset]) counters_.inconsistent_overlap_bytes++;
    }
    cursor = overlap_end;
    ++it;
  }
}

void StreamReassembler::deliver(Timestamp time, uint64_t offset, std::span<const uint8_t> bytes,
                                StreamSink& sink) {
  if (offset < next_offset_) {
    uint64_t already = next_offset_ - offset;
    counters_.retransmitted_bytes += already;
    bytes = bytes.subspan(already);
  }
  if (bytes.empty()) return;
  next_offset_ += bytes.size();
  counters_.delivered_bytes += bytes.size();
  sink.stream_data(time, bytes);
}

void StreamReassembler::drain(Timestamp time, StreamSink& sink) {
  while (!pending_.empty()) {
    auto it = pending_.begin();
    if (it->first > next_offset_) return;
    std::vector<uint8_t> bytes = std::move(it->second);
    uint64_t offset = it->first;
    pending_.erase(it);
    buffered_bytes_ -= bytes.size();
    deliver(time, offset, bytes, sink);
  }
}

void StreamReassembler::skip_to(Timestamp time, uint64_t offset, StreamSink& sink) {
  if (offset <= next_offset_) return;
  uint64_t missing = offset - next_offset_;
  counters_.gaps++;
  counters_.gap_bytes += missing;
  next_offset_ = offset;
  sink.stream_gap(time, missing);
}

void StreamReassembler::acknowledged(Timestamp time, uint32_t acknowledgment, StreamSink& sink) {
  if (!started_ || pending_.empty()) return;
  uint64_t acked = offset_of(acknowledgment);
  if (acked == UINT64_MAX || acked <= next_offset_) return;
  uint64_t first_held = pending_.begin()->first;
  if (acked < first_held) return;  // the hole may still be in flight
  skip_to(time, first_held, sink);
  drain(time, sink);
}

void StreamReassembler::flush(Timestamp time, StreamSink& sink) {
  while (!pending_.empty()) {
    skip_to(time, pending_.begin()->first, sink);
    drain(time, sink);
  }
}

}  // namespace spamtap
