#include "pipeline/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <thread>
#include <utility>
#include <variant>

namespace spamtap {

namespace {

// A batch is handed over when it holds this many frames or this many bytes.
constexpr size_t kBatchFrames = 4096;
constexpr size_t kBatchBytes = 4 * 1024 * 1024;
// Batches in flight per worker before the reader waits.
constexpr size_t kQueueDepth = 8;

constexpr uint64_t kEndOfInput = std::numeric_limits<uint64_t>::max();

bool has_ports(uint8_t protocol) {
  return protocol == ip_protocol::kTcp || protocol == ip_protocol::kUdp;
}

// A queue with a fixed capacity: `push` waits while it is full, `pop` while it is empty.
template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) {}
  void push(T value) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return items_.size() < capacity_; });
    items_.push_back(std::move(value));
    not_empty_.notify_one();
  }
  T pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !items_.empty(); });
    T value = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return value;
  }

 private:
  size_t capacity_;
  std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<T> items_;
};

// Where a record sits in the order one worker would have produced: the input position
// that caused it; at one position, expiries (phase 0, the least recently touched
// connection first) come before the packet's own work (phase 1).
struct Key {
  uint64_t sequence = 0;
  uint8_t phase = 0;
  uint64_t touched = 0;  // phase 0: the ending connection's last packet position

  friend bool operator<(const Key& a, const Key& b) {
    if (a.sequence != b.sequence) return a.sequence < b.sequence;
    if (a.phase != b.phase) return a.phase < b.phase;
    return a.touched < b.touched;
  }
};

struct Started {
  uint64_t id;
};
struct Greeting {
  SmtpContext context;
  smtp::Reply reply;
};
struct ExchangeNews {
  SmtpContext context;
  smtp::Exchange exchange;
};
struct TransactionNews {
  SmtpContext context;
  smtp::Transaction transaction;
};
struct AnomalyNews {
  AnomalyRecord record;
};
struct Collected {};
struct SessionEnd {
  SmtpContext context;
  SmtpSessionRecord record;
  Timestamp end_time;
};
struct ConnectionEnd {
  Connection connection;
};
using News = std::variant<Started, Greeting, ExchangeNews, TransactionNews, AnomalyNews, Collected,
                          SessionEnd, ConnectionEnd>;

struct Message {
  Key key;
  News news;
};

// A worker's ShardOutput: keeps what the shard says, keyed, for the collector.
class Recorder : public ShardOutput {
 public:
  void begin(uint64_t sequence, uint8_t phase) {
    key_ = Key{sequence, phase, 0};
    group_start_ = messages_.size();
  }
  std::vector<Message> take() {
    group_start_ = 0;
    return std::exchange(messages_, {});
  }

  void connection_started(uint64_t id) override { add(Started{id}); }
  void greeting(const SmtpContext& context, const smtp::Reply& reply) override {
    add(Greeting{context, reply});
  }
  void exchange(const SmtpContext& context, smtp::Exchange exchange) override {
    add(ExchangeNews{context, std::move(exchange)});
  }
  void transaction(const SmtpContext& context, smtp::Transaction transaction) override {
    add(TransactionNews{context, std::move(transaction)});
  }
  void anomaly(AnomalyRecord anomaly) override { add(AnomalyNews{std::move(anomaly)}); }
  void collected() override { add(Collected{}); }
  void session_end(const SmtpContext& context, SmtpSessionRecord record,
                   Timestamp end_time) override {
    add(SessionEnd{context, std::move(record), end_time});
  }
  void connection_end(Connection& connection) override {
    add(ConnectionEnd{connection.snapshot()});
    if (key_.phase == 0) {
      // Everything since the previous ending belongs to this connection's ending.
      for (size_t i = group_start_; i < messages_.size(); ++i) {
        messages_[i].key.touched = connection.last_sequence;
      }
      group_start_ = messages_.size();
    }
  }

 private:
  void add(News news) { messages_.push_back(Message{key_, std::move(news)}); }

  Key key_;
  size_t group_start_ = 0;
  std::vector<Message> messages_;
};

void replay(Message& message, Collector::Port& port) {
  std::visit(
      [&](auto& news) {
        using T = std::decay_t<decltype(news)>;
        if constexpr (std::is_same_v<T, Started>) {
          port.connection_started(news.id);
        } else if constexpr (std::is_same_v<T, Greeting>) {
          port.greeting(news.context, news.reply);
        } else if constexpr (std::is_same_v<T, ExchangeNews>) {
          port.exchange(news.context, std::move(news.exchange));
        } else if constexpr (std::is_same_v<T, TransactionNews>) {
          port.transaction(news.context, std::move(news.transaction));
        } else if constexpr (std::is_same_v<T, AnomalyNews>) {
          port.anomaly(std::move(news.record));
        } else if constexpr (std::is_same_v<T, Collected>) {
          port.collected();
        } else if constexpr (std::is_same_v<T, SessionEnd>) {
          port.session_end(news.context, std::move(news.record), news.end_time);
        } else {
          port.connection_end(news.connection);
        }
      },
      message.news);
}

}  // namespace

uint32_t shard_of(const IpAddress& a, uint16_t port_a, const IpAddress& b, uint16_t port_b,
                  uint8_t protocol, uint32_t shards) {
  if (!has_ports(protocol)) port_a = port_b = 0;
  // The flow table's own symmetric hash, by its high bits: the tables inside each worker
  // index by the low bits, which must not be the same in all of a worker's connections.
  uint64_t hash = FlowTable::hash_of(a, port_a, b, port_b, protocol);
  return static_cast<uint32_t>((hash >> 32) % shards);
}

// Frames of one stretch of input: every frame's time, and each worker's packets, decoded
// by the reader; payloads that will not stay where they are were copied into `bytes`.
struct ParallelAnalysis::Batch {
  struct Item {
    uint64_t sequence = 0;
    Packet packet;        // its payload points into the capture, or is in `bytes` ...
    bool copied = false;  // ... from `offset`, `length` bytes
    size_t offset = 0;
    size_t length = 0;
  };
  uint64_t first_sequence = 0;
  std::vector<Timestamp> times;
  std::vector<uint8_t> bytes;
  std::vector<std::vector<Item>> items;
  bool last = false;

  void clear() {
    times.clear();
    bytes.clear();
    for (auto& list : items) list.clear();
    last = false;
  }
};

// Batches are reused once every worker is done with them, so their buffers keep their
// capacity instead of being allocated (and faulted in) again for each batch.
class ParallelAnalysis::BatchPool {
 public:
  explicit BatchPool(size_t workers) : workers_(workers) {}
  std::shared_ptr<Batch> get() {
    Batch* batch = nullptr;
    {
      std::lock_guard lock(mutex_);
      if (!free_.empty()) {
        batch = free_.back().release();
        free_.pop_back();
      }
    }
    if (!batch) {
      batch = new Batch;
      batch->items.resize(workers_);
      batch->times.reserve(kBatchFrames);
      batch->bytes.reserve(kBatchBytes + 65536);
    }
    batch->clear();
    return std::shared_ptr<Batch>(batch, [this](Batch* done) {
      std::lock_guard lock(mutex_);
      free_.emplace_back(done);
    });
  }

 private:
  size_t workers_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Batch>> free_;
};

struct ParallelAnalysis::Worker {
  explicit Worker(const ShardSettings& settings)
      : shard(settings, &recorder), input(kQueueDepth), output(kQueueDepth) {}

  void run() {
    for (;;) {
      std::shared_ptr<Batch> batch = input.pop();
      const auto& items = batch->items[id];
      size_t next = 0;
      Packet packet;
      for (size_t i = 0; i < batch->times.size(); ++i) {
        uint64_t sequence = batch->first_sequence + i;
        recorder.begin(sequence, 0);
        shard.advance(batch->times[i]);
        if (next == items.size() || items[next].sequence != sequence) continue;
        const Batch::Item& item = items[next++];
        recorder.begin(sequence, 1);
        packet = item.packet;
        if (item.copied) packet.payload = {batch->bytes.data() + item.offset, item.length};
        if (packet.time < first) first = packet.time;
        if (packet.time > last) last = packet.time;
        shard.process(packet, sequence);
      }
      bool end = batch->last;
      batch.reset();  // back to the pool as soon as possible
      {
        std::lock_guard lock(progress_mutex);
        batches_done++;
      }
      finished_batches.store(batches_done, std::memory_order_release);
      progress.notify_all();
      if (end) {
        recorder.begin(kEndOfInput, 0);
        shard.finish();
      }
      output.push(Output{recorder.take(), end});
      if (end) return;
    }
  }

  struct Output {
    std::vector<Message> messages;
    bool last = false;
  };

  size_t id = 0;
  std::atomic<uint64_t> finished_batches{0};
  Recorder recorder;
  Shard shard;
  Timestamp first = INT64_MAX;  // none yet
  Timestamp last = INT64_MIN;
  BoundedQueue<std::shared_ptr<Batch>> input;
  BoundedQueue<Output> output;
  std::thread thread;
  std::mutex progress_mutex;
  std::condition_variable progress;
  uint64_t batches_done = 0;
};

ParallelAnalysis::ParallelAnalysis(int workers, const ShardSettings& settings,
                                   const DecodeLimits& decode, Collector* collector)
    : workers_count_(std::max(1, workers)),
      collector_(collector),
      reader_decoder_(decode),
      pool_(std::make_unique<BatchPool>(static_cast<size_t>(workers_count_))) {
  // Each worker gets its share of the caps that bound the whole run.
  // LIMITATION: results equal one worker's only while no cap is reached: a full share
  // evicts (or flushes out-of-order bytes) where one table with the whole cap would not.
  ShardSettings share = settings;
  share.flow.max_connections = std::max<size_t>(1, settings.flow.max_connections / workers_count_);
  share.max_reassembly_bytes = settings.max_reassembly_bytes / workers_count_;
  for (int i = 0; i < workers_count_; ++i) {
    workers_.push_back(std::make_unique<Worker>(share));
    workers_.back()->id = static_cast<size_t>(i);
  }
  for (auto& worker : workers_) {
    worker->thread = std::thread([w = worker.get()] { w->run(); });
  }
  collector_thread_ = std::make_unique<std::thread>([this] { collect_loop(); });
  batch_ = pool_->get();
}

ParallelAnalysis::~ParallelAnalysis() {
  finish();
}

void ParallelAnalysis::frame(const Frame& frame, uint64_t sequence, bool stable) {
  Batch& batch = *batch_;
  if (batch.times.empty()) batch.first_sequence = sequence;
  batch.times.push_back(frame.time);

  // Decoded here: the reader touches the headers anyway, the fragment table is in one
  // place, and the worker is chosen by the tuple the decoder found (inner addresses of
  // tunnels included).
  Packet packet;
  if (reader_decoder_.decode(frame, &packet) == DecodeStatus::kPacket) {
    Batch::Item item;
    item.sequence = sequence;
    uint32_t worker = shard_of(packet.source, packet.source_port, packet.destination,
                               packet.destination_port, packet.protocol, workers_count_);
    const uint8_t* payload = packet.payload.data();
    bool in_frame = stable && !packet.payload.empty() && payload >= frame.data &&
                    payload + packet.payload.size() <= frame.data + frame.captured_length;
    if (stable) batch_end_ = frame.data + frame.captured_length;
    if (!in_frame && !packet.payload.empty()) {
      // Not where it will stay: a copy goes with the batch.
      item.copied = true;
      item.offset = batch.bytes.size();
      item.length = packet.payload.size();
      batch.bytes.insert(batch.bytes.end(), packet.payload.begin(), packet.payload.end());
      packet.payload = {};
    }
    item.packet = packet;
    batch.items[worker].push_back(item);
  }
  if (batch.times.size() >= kBatchFrames || batch.bytes.size() >= kBatchBytes) dispatch();
}

void ParallelAnalysis::dispatch() {
  for (auto& worker : workers_) worker->input.push(batch_);
  dispatched_++;
  if (batch_end_) batch_ends_.emplace_back(dispatched_, batch_end_);
  batch_end_ = nullptr;
  batch_ = pool_->get();
}

const uint8_t* ParallelAnalysis::done_before() const {
  uint64_t done = UINT64_MAX;
  for (const auto& worker : workers_) {
    done = std::min(done, worker->finished_batches.load(std::memory_order_acquire));
  }
  auto& ends = const_cast<std::deque<std::pair<uint64_t, const uint8_t*>>&>(batch_ends_);
  while (!ends.empty() && ends.front().first <= done) {
    done_before_ = ends.front().second;
    ends.pop_front();
  }
  return done_before_;
}

void ParallelAnalysis::drain() {
  if (finished_) return;
  if (!batch_->times.empty()) dispatch();
  for (auto& worker : workers_) {
    std::unique_lock lock(worker->progress_mutex);
    worker->progress.wait(lock, [&] { return worker->batches_done == dispatched_; });
  }
  batch_ends_.clear();
  done_before_ = nullptr;
}

void ParallelAnalysis::collect_loop() {
  std::vector<Collector::Port> ports;
  ports.reserve(workers_.size());
  for (size_t i = 0; i < workers_.size(); ++i) ports.emplace_back(collector_);
  std::vector<Worker::Output> outputs(workers_.size());
  std::vector<size_t> heads(workers_.size());
  for (;;) {
    for (size_t i = 0; i < workers_.size(); ++i) outputs[i] = workers_[i]->output.pop();
    std::fill(heads.begin(), heads.end(), 0);
    // Merge: the smallest key among the workers' next messages goes first; each
    // worker's own messages are already in order.
    for (;;) {
      size_t best = workers_.size();
      for (size_t i = 0; i < workers_.size(); ++i) {
        if (heads[i] == outputs[i].messages.size()) continue;
        if (best == workers_.size() ||
            outputs[i].messages[heads[i]].key < outputs[best].messages[heads[best]].key) {
          best = i;
        }
      }
      if (best == workers_.size()) break;
      replay(outputs[best].messages[heads[best]++], ports[best]);
    }
    if (outputs[0].last) return;
  }
}

void ParallelAnalysis::finish() {
  if (finished_) return;
  finished_ = true;
  batch_->last = true;
  dispatch();
  for (auto& worker : workers_) worker->thread.join();
  collector_thread_->join();
}

FlowCounters ParallelAnalysis::flow_counters() const {
  FlowCounters total;
  for (const auto& worker : workers_) {
    const FlowCounters& c = worker->shard.flow_counters();
    total.packets += c.packets;
    total.connections_created += c.connections_created;
    total.connections_ended += c.connections_ended;
    total.timed_out += c.timed_out;
    total.evicted += c.evicted;
    total.port_reuse += c.port_reuse;
    total.roles_swapped += c.roles_swapped;
  }
  return total;
}

std::map<std::string, uint64_t> ParallelAnalysis::shard_counters() const {
  std::map<std::string, uint64_t> total;
  for (const auto& worker : workers_) {
    for (const auto& [name, count] : worker->shard.counters()) total[name] += count;
  }
  return total;
}

std::map<std::string, uint64_t> ParallelAnalysis::decode_anomalies() const {
  return reader_decoder_.anomalies();
}

uint64_t ParallelAnalysis::not_ip() const {
  return reader_decoder_.not_ip();
}

Timestamp ParallelAnalysis::first_packet() const {
  Timestamp first = INT64_MAX;
  for (const auto& worker : workers_) first = std::min(first, worker->first);
  return first;
}

Timestamp ParallelAnalysis::last_packet() const {
  Timestamp last = INT64_MIN;
  for (const auto& worker : workers_) last = std::max(last, worker->last);
  return last;
}

}  // namespace spamtap
