#include "pipeline/pipeline.hpp"

#include <chrono>

namespace spamtap {

namespace {

Timestamp wall_clock_now() {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
}

ShardSettings shard_settings(const AnalysisOptions& options) {
  ShardSettings settings;
  settings.home = options.home;
  settings.flow = options.flow;
  settings.stream = options.stream;
  settings.smtp = options.smtp;
  settings.max_reassembly_bytes = options.max_reassembly_bytes;
  return settings;
}

}  // namespace

Pipeline::Pipeline(AnalysisOptions options, std::vector<RecordSink*> sinks)
    : options_(std::move(options)),
      sinks_(std::move(sinks)),
      collector_(options_.detection, options_.blocklists, sinks_),
      started_(wall_clock_now()) {
  if (options_.workers > 1) {
    parallel_ = std::make_unique<ParallelAnalysis>(options_.workers, shard_settings(options_),
                                                   options_.decode, &collector_);
  } else {
    port_ = std::make_unique<Collector::Port>(&collector_);
    decoder_ = std::make_unique<Decoder>(options_.decode);
    shard_ = std::make_unique<Shard>(shard_settings(options_), port_.get());
  }
}

Pipeline::~Pipeline() = default;

FileOutcome Pipeline::process_file(const std::string& path, std::string* message,
                                   const std::function<void(const Progress&)>& progress) {
  inputs_.push_back(path);
  std::string error;
  auto capture = CaptureFile::open(path, options_.bpf_filter, &error);
  if (!capture) {
    *message = error;
    counters_["files_unreadable"]++;
    return FileOutcome::kNotReadable;
  }

  Progress state;
  state.file = &path;
  Frame frame;
  uint64_t frames = 0;
  bool stable = parallel_ && capture->frames_stay_valid();
  if (stable) capture->hold_frames();
  // Workers may still read frames of this file; they must be done before it closes.
  struct Drain {
    ParallelAnalysis* parallel;
    ~Drain() {
      if (parallel) parallel->drain();
    }
  } drain{parallel_.get()};
  for (;;) {
    auto status = capture->next(&frame);
    if (status == CaptureFile::ReadStatus::kEnd) break;
    if (status == CaptureFile::ReadStatus::kError) {
      *message = capture->error();
      counters_["files_damaged"]++;
      counters_["frames_filtered"] += capture->frames_filtered();
      return FileOutcome::kDamaged;
    }
    process_frame(frame, stable);
    if (stable && (frames_ & 0xFFF) == 0) capture->release_before(parallel_->done_before());
    if (progress && (++frames & 0x3FFF) == 0) {
      state.bytes_done = capture->bytes_consumed();
      state.bytes_total = capture->total_bytes();
      state.packets = frames_;
      progress(state);
    }
  }
  counters_["frames_filtered"] += capture->frames_filtered();
  return FileOutcome::kComplete;
}

void Pipeline::process_frame(const Frame& frame) { process_frame(frame, false); }

void Pipeline::process_frame(const Frame& frame, bool stable) {
  frames_++;  // a plain counter: this runs for every frame
  if (parallel_) {
    parallel_->frame(frame, frames_, stable);
    return;
  }
  // Time passes with every frame, whatever it holds.
  shard_->advance(frame.time);
  Packet packet;
  if (decoder_->decode(frame, &packet) != DecodeStatus::kPacket) return;
  if (packet.time < first_packet_) first_packet_ = packet.time;
  if (packet.time > last_packet_) last_packet_ = packet.time;
  shard_->process(packet, frames_);
}

void Pipeline::set_blocklists(std::shared_ptr<const intel::BlocklistSet> blocklists) {
  collector_.set_blocklists(std::move(blocklists));
}

void Pipeline::finish() {
  if (finished_) return;
  finished_ = true;

  FlowCounters flow;
  std::map<std::string, uint64_t> shard_counters;
  std::map<std::string, uint64_t> anomalies;
  uint64_t not_ip = 0;
  if (parallel_) {
    parallel_->finish();
    flow = parallel_->flow_counters();
    shard_counters = parallel_->shard_counters();
    anomalies = parallel_->decode_anomalies();
    not_ip = parallel_->not_ip();
    first_packet_ = parallel_->first_packet();
    last_packet_ = parallel_->last_packet();
  } else {
    shard_->finish();
    flow = shard_->flow_counters();
    shard_counters = shard_->counters();
    anomalies = decoder_->anomalies();
    not_ip = decoder_->not_ip();
  }

  counters_["frames"] = frames_;
  counters_["packets"] = flow.packets;
  counters_["connections"] = flow.connections_created;
  counters_["connections_timed_out"] = flow.timed_out;
  counters_["connections_evicted"] = flow.evicted;
  counters_["connections_port_reuse"] = flow.port_reuse;
  for (const auto& [name, count] : shard_counters) counters_[name] += count;
  counters_["smtp_sessions"] += 0;  // present even when there were none
  counters_["smtp_transactions"] = collector_.smtp_transactions();
  counters_["events"] = collector_.events_written();
  if (collector_.has_blocklists()) {
    const BlocklistDetectorCounters& blocklist = collector_.blocklist_detector().counters();
    counters_["blocklist_connections_checked"] = blocklist.connections_checked;
    counters_["blocklist_connections_listed"] = blocklist.connections_listed;
    counters_["blocklist_events"] = blocklist.events;
  }
  counters_["frames_not_ip"] = not_ip;
  for (const auto& [name, count] : anomalies) counters_["decode." + name] = count;

  RunRecord run;
  run.started = started_;
  run.first_packet = first_packet();
  run.last_packet = last_packet();
  run.inputs = inputs_;
  run.counters = counters_;
  for (RecordSink* sink : sinks_) {
    sink->write_run(run);
    sink->flush();
  }
}

}  // namespace spamtap
