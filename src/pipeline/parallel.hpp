// ParallelAnalysis: one reader, N analysis workers, one collector.
//
// The reader (the caller's thread) decodes every frame (the fragment table lives there)
// and hands each packet to the worker that owns its connection, chosen by a symmetric
// hash of the 5-tuple. Packets travel in batches; their payloads point into the capture
// when it is memory-mapped and are copied otherwise. Every worker sees every frame's
// time, so its clock, and with it every idle timeout, moves exactly as a single table's
// would. A worker owns a Shard (flow table, reassembly, SMTP) and records what it emits,
// keyed by the input position that caused it. The collector merges the workers' records
// of each batch by that key, which restores the order one worker would have produced,
// and replays them into the Collector: detection, blocklists and the stores run on one
// thread and see the same calls in the same order as with one worker.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "capture/capture_file.hpp"
#include "decode/decoder.hpp"
#include "pipeline/collector.hpp"
#include "pipeline/shard.hpp"

namespace spamtap {

// The worker (0..shards-1) of a packet with this 5-tuple, the same in both directions.
// Ports count only for TCP and UDP.
uint32_t shard_of(const IpAddress& a, uint16_t port_a, const IpAddress& b, uint16_t port_b,
                  uint8_t protocol, uint32_t shards);

class ParallelAnalysis {
 public:
  ParallelAnalysis(int workers, const ShardSettings& settings, const DecodeLimits& decode,
                   Collector* collector);
  ~ParallelAnalysis();
  ParallelAnalysis(const ParallelAnalysis&) = delete;
  ParallelAnalysis& operator=(const ParallelAnalysis&) = delete;

  // `sequence`: the frame's position in the whole input (1, 2, ...). With `stable`, the
  // frame's bytes stay valid until drain() returns and are not copied.
  void frame(const Frame& frame, uint64_t sequence, bool stable = false);
  // Hands over what is batched and waits until the workers are done with every frame
  // given so far (before the memory those frames live in goes away).
  void drain();
  // With stable frames: the end of the frames every worker is done with (nullptr when
  // none are known to be), so their memory can be let go.
  const uint8_t* done_before() const;
  // Ends every connection, waits until the collector has replayed everything.
  void finish();

  // After finish(): the shards' counters summed, and the decoders'.
  FlowCounters flow_counters() const;
  std::map<std::string, uint64_t> shard_counters() const;
  std::map<std::string, uint64_t> decode_anomalies() const;
  uint64_t not_ip() const;
  // INT64_MAX and INT64_MIN when no worker had a packet.
  Timestamp first_packet() const;
  Timestamp last_packet() const;

 private:
  struct Batch;
  struct Worker;
  class BatchPool;
  void dispatch();
  void collect_loop();

  int workers_count_;
  Collector* collector_;
  Decoder reader_decoder_;
  std::unique_ptr<BatchPool> pool_;
  std::shared_ptr<Batch> batch_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<std::thread> collector_thread_;
  uint64_t dispatched_ = 0;  // batches handed to every worker
  // Stable frames: per batch handed over, the end of its last frame.
  std::deque<std::pair<uint64_t, const uint8_t*>> batch_ends_;
  const uint8_t* batch_end_ = nullptr;  // of the batch being filled
  mutable const uint8_t* done_before_ = nullptr;
  bool finished_ = false;
};

}  // namespace spamtap
