// StreamReassembler: turns the TCP segments of one direction into an ordered byte
// stream. In-order bytes go straight to the sink; segments ahead of a hole wait in a
// bounded buffer; bytes already delivered (retransmissions) are dropped; when a hole
// can no longer be filled (the buffer is full, the peer acknowledged past it, or the
// stream is flushed at its end) the sink is told how many bytes were missed, and
// delivery resumes after the hole. A hole is never silently joined.
//
// Outcomes are counted per stream: delivered, retransmitted, buffered out of order,
// overlapping bytes that disagreed with the first copy (the first copy wins), gaps.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "core/time.hpp"

namespace spamtap {

class StreamSink {
 public:
  virtual ~StreamSink() = default;
  virtual void stream_data(Timestamp time, std::span<const uint8_t> bytes) = 0;
  virtual void stream_gap(Timestamp time, uint64_t missing_bytes) = 0;
};

struct StreamLimits {
  size_t max_buffered_bytes = 256 * 1024;  // out-of-order bytes held per stream
  size_t max_buffered_segments = 512;
};

struct StreamCounters {
  uint64_t delivered_bytes = 0;
  uint64_t retransmitted_bytes = 0;
  uint64_t out_of_order_segments = 0;
  uint64_t inconsistent_overlap_bytes = 0;
  uint64_t gap_bytes = 0;
  uint64_t gaps = 0;
  uint64_t dropped_segments = 0;  // arrived far outside any sane window
};

class StreamReassembler {
 public:
  explicit StreamReassembler(StreamLimits limits = {}) : limits_(limits) {}

  // The SYN's sequence number: the stream starts at isn + 1. Without it, the stream
  // starts at the first data segment seen.
  void start(uint32_t initial_sequence);
  bool started() const { return started_; }

  void segment(Timestamp time, uint32_t sequence, std::span<const uint8_t> payload,
               StreamSink& sink);
  // The other side acknowledged up to `acknowledgment`: bytes before it that we never
  // saw are lost for good, so a hole before buffered data is declared a gap.
  void acknowledged(Timestamp time, uint32_t acknowledgment, StreamSink& sink);
  // End of stream: deliver everything buffered, declaring the holes as gaps.
  void flush(Timestamp time, StreamSink& sink);

  const StreamCounters& counters() const { return counters_; }
  size_t buffered_bytes() const { return buffered_bytes_; }

 private:
  uint64_t offset_of(uint32_t sequence) const;
  void deliver(Timestamp time, uint64_t offset, std::span<const uint8_t> bytes, StreamSink& sink);
  void drain(Timestamp time, StreamSink& sink);
  void skip_to(Timestamp time, uint64_t offset, StreamSink& sink);
  void buffer(uint64_t offset, std::span<const uint8_t> bytes);

  StreamLimits limits_;
  bool started_ = false;
  uint32_t base_sequence_ = 0;  // sequence number of offset 0
  uint64_t next_offset_ = 0;    // next byte the sink expects
  std::map<uint64_t, std::vector<uint8_t>> pending_;
  size_t buffered_bytes_ = 0;
  StreamCounters counters_;
};

}  // namespace spamtap
