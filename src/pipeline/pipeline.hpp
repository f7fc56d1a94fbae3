// Pipeline: one analysis run, wired front to back. Capture files are read in order;
// each frame is decoded, matched to its connection, and, for conversations that look
// like SMTP (a service port, or a server that greets with 220 on any port), the two
// directions are reassembled and fed to the SMTP analyzer. Detection watches the SMTP
// exchanges; every connection that ends is checked, both ends, against the blocklists.
// Connections, transactions, anomalies and events leave through the sinks.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "capture/capture_file.hpp"
#include "decode/decoder.hpp"
#include "detect/spam_detector.hpp"
#include "flow/flow_table.hpp"
#include "pipeline/collector.hpp"
#include "pipeline/parallel.hpp"
#include "pipeline/shard.hpp"
#include "reassembly/stream.hpp"
#include "smtp/session.hpp"
#include "store/records.hpp"

namespace spamtap {

struct AnalysisOptions {
  HomeNetworks home;
  std::string bpf_filter;
  DecodeLimits decode;
  FlowLimits flow;
  StreamLimits stream;
  smtp::Limits smtp;
  DetectionSettings detection;
  // Lists every connection's two ends are matched against; nullptr: no matching.
  std::shared_ptr<const intel::BlocklistSet> blocklists;
  // Global cap on bytes held out of order by all SMTP streams together.
  size_t max_reassembly_bytes = 256 * 1024 * 1024;
  // Analysis threads. 1: everything on the caller's thread. More: the caller reads,
  // that many workers analyze their share of the connections, and one more thread
  // runs detection and the stores; the results are the same as with one.
  int workers = 1;
};

struct Progress {
  const std::string* file = nullptr;
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;  // 0 when unknown
  uint64_t packets = 0;
};

enum class FileOutcome {
  kComplete,     // read to its end
  kDamaged,      // read up to a bad record; what came before was analyzed
  kNotReadable,  // could not be opened as a capture
};

class Pipeline {
 public:
  Pipeline(AnalysisOptions options, std::vector<RecordSink*> sinks);
  ~Pipeline();

  // Reads one capture. `message` explains a damaged or unreadable file.
  FileOutcome process_file(const std::string& path, std::string* message,
                           const std::function<void(const Progress&)>& progress = {});
  // Processes one already-captured frame (used by tests and live capture).
  void process_frame(const Frame& frame);
  // Swaps in a newly loaded set (a reload); connections that end from now on use it.
  // Safe to call from another thread.
  void set_blocklists(std::shared_ptr<const intel::BlocklistSet> blocklists);
  // Ends every open connection and writes the run record.
  void finish();

  const std::map<std::string, uint64_t>& counters() const { return counters_; }
  uint64_t events_written() const { return collector_.events_written(); }
  // Times of the earliest and the latest packet (0 when there was none; a packet may
  // really be at time 0).
  bool has_packets() const { return first_packet_ != kNoPacketYet; }
  Timestamp first_packet() const { return has_packets() ? first_packet_ : 0; }
  Timestamp last_packet() const { return has_packets() ? last_packet_ : 0; }

 private:
  // `stable`: the frame's bytes stay valid until the file is closed (workers may keep
  // pointing at them).
  void process_frame(const Frame& frame, bool stable);

  AnalysisOptions options_;
  std::vector<RecordSink*> sinks_;
  Collector collector_;
  // One worker: the shard runs here and speaks to the collector directly.
  std::unique_ptr<Collector::Port> port_;
  std::unique_ptr<Decoder> decoder_;
  std::unique_ptr<Shard> shard_;
  // More workers.
  std::unique_ptr<ParallelAnalysis> parallel_;
  std::vector<std::string> inputs_;
  std::map<std::string, uint64_t> counters_;
  static constexpr Timestamp kNoPacketYet = INT64_MAX;
  Timestamp first_packet_ = kNoPacketYet;
  Timestamp last_packet_ = INT64_MIN;
  Timestamp started_ = 0;
  uint64_t frames_ = 0;
  bool finished_ = false;
};

}  // namespace spamtap
