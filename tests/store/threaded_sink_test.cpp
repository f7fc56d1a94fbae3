#include "store/threaded_sink.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace spamtap {
namespace {

// What the wrapped sink saw of a connection, kept by value.
struct SeenConnection {
  uint64_t id = 0;
  ConnectionKey key;
  Timestamp first_time = 0;
  Timestamp last_time = 0;
  SideCounters originator;
  SideCounters responder;
  uint16_t tcp_flags_seen = 0;
  uint32_t initial_sequence = 0;
  RoleRule role_rule = RoleRule::kFirstPacket;
  ConnectionEnd end = ConnectionEnd::kOpen;
  bool originator_local = false;
  bool responder_local = false;
  bool smtp = false;
  uint64_t missed_bytes = 0;
  bool has_extension = false;
  uint32_t older = 0;
  uint32_t newer = 0;
};

// Logs one line per call, in the order of the calls. The tests read the log only after
// ThreadedSink::flush() or its destructor has returned.
class RecordingSink : public RecordSink {
 public:
  void write_connection(const Connection& c) override {
    note("connection " + std::to_string(c.id));
    connections.push_back({c.id, c.key, c.first_time, c.last_time, c.originator, c.responder,
                           c.tcp_flags_seen, c.initial_sequence, c.role_rule, c.end,
                           c.originator_local, c.responder_local, c.smtp, c.missed_bytes,
                           c.extension != nullptr, c.older, c.newer});
  }
  void write_smtp(const SmtpRecord& r) override {
    note("smtp " + std::to_string(r.connection_id) + " " + r.transaction.mail_from);
  }
  void write_exchange(const SmtpExchangeRecord& r) override {
    note("exchange " + std::to_string(r.connection_id) + " " + r.exchange.verb);
  }
  void write_session(const SmtpSessionRecord& r) override {
    note("session " + std::to_string(r.connection_id) + " " + r.summary.helo);
  }
  void write_event(const Event& e) override {
    note("event " + std::to_string(e.connection_id) + " " + std::to_string(e.rule));
  }
  void write_anomaly(const AnomalyRecord& a) override {
    note("anomaly " + std::to_string(a.connection_id) + " " + a.name);
  }
  void write_software(const SoftwareRecord& s) override {
    note("software " + std::to_string(s.connection_id) + " " + s.name);
  }
  void write_asset_member(const AssetMemberRecord& m) override { note("asset " + m.list); }
  void write_run(const RunRecord& r) override { note("run " + r.inputs.at(0)); }
  void flush() override { note("flush"); }

  std::vector<std::string> log;
  std::vector<SeenConnection> connections;

 protected:
  virtual void note(std::string entry) { log.push_back(std::move(entry)); }
};

// Writes record number `n`, of one of the nine kinds in turn, and returns the line the
// recording sink logs for it.
std::string write_record(RecordSink& sink, uint64_t n) {
  std::string number = std::to_string(n);
  switch (n % 9) {
    case 0: {
      Connection connection;
      connection.id = n;
      sink.write_connection(connection);
      return "connection " + number;
    }
    case 1: {
      SmtpRecord record;
      record.connection_id = n;
      record.transaction.mail_from = "sender" + number + "@example.org";
      sink.write_smtp(record);
      return "smtp " + number + " sender" + number + "@example.org";
    }
    case 2: {
      SmtpExchangeRecord record;
      record.connection_id = n;
      record.exchange.verb = "RCPT";
      sink.write_exchange(record);
      return "exchange " + number + " RCPT";
    }
    case 3: {
      SmtpSessionRecord record;
      record.connection_id = n;
      record.summary.helo = "host" + number;
      sink.write_session(record);
      return "session " + number + " host" + number;
    }
    case 4: {
      Event event;
      event.connection_id = n;
      event.rule = 4122;
      sink.write_event(event);
      return "event " + number + " 4122";
    }
    case 5: {
      AnomalyRecord anomaly;
      anomaly.connection_id = n;
      anomaly.name = "bare_lf_before_dot";
      sink.write_anomaly(anomaly);
      return "anomaly " + number + " bare_lf_before_dot";
    }
    case 6: {
      SoftwareRecord software;
      software.connection_id = n;
      software.name = "Mailer " + number;
      sink.write_software(software);
      return "software " + number + " Mailer " + number;
    }
    case 7: {
      AssetMemberRecord member;
      member.list = "suspects-" + number;
      sink.write_asset_member(member);
      return "asset suspects-" + number;
    }
    default: {
      RunRecord run;
      run.inputs = {"capture-" + number + ".pcap"};
      sink.write_run(run);
      return "run capture-" + number + ".pcap";
    }
  }
}

TEST(ThreadedSink, KeepsTheOrderOfEveryKindOfRecordAcrossBatchesAndFlushes) {
  RecordingSink inner;
  std::vector<std::string> expected;
  {
    ThreadedSink sink(inner, {.batch_records = 7, .max_batches_in_flight = 3});
    for (uint64_t n = 0; n < 900; n++) {
      expected.push_back(write_record(sink, n));
      if (n == 499) {
        sink.flush();
        expected.push_back("flush");
      }
    }
    sink.flush();
    expected.push_back("flush");
    EXPECT_EQ(inner.log, expected);

    // 500 records: 71 full batches of 7 and 3 records with the flush; 400 more: 57 full
    // batches and 1 record with the last flush.
    ThreadedSinkCounters counters = sink.counters();
    EXPECT_EQ(counters.records, 900u);
    EXPECT_EQ(counters.batches, 72u + 58u);
    EXPECT_EQ(counters.inner_failures, 0u);
  }
  // The destructor's flush has nothing left to write but still flushes the wrapped sink.
  expected.push_back("flush");
  EXPECT_EQ(inner.log, expected);
}

class ExampleExtension : public ConnectionExtension {};

TEST(ThreadedSink, CopiesTheConnectionWithoutTheFlowTableParts) {
  RecordingSink inner;
  ThreadedSink sink(inner);

  auto connection = std::make_unique<Connection>();
  connection->id = 41;
  connection->key.originator = *IpAddress::parse("10.0.0.66");
  connection->key.responder = *IpAddress::parse("2001:db8::25");
  connection->key.originator_port = 50123;
  connection->key.responder_port = 25;
  connection->key.protocol = 6;
  connection->first_time = seconds(100);
  connection->last_time = seconds(160);
  connection->originator = {12, 1300, 620};
  connection->responder = {10, 900, 380};
  connection->tcp_flags_seen = tcp_seen::kSyn | tcp_seen::kSynAck | tcp_seen::kOrigFin;
  connection->initial_sequence = 3000000001u;
  connection->role_rule = RoleRule::kSynAck;
  connection->end = ConnectionEnd::kFin;
  connection->originator_local = true;
  connection->responder_local = false;
  connection->smtp = true;
  connection->missed_bytes = 17;
  connection->extension = std::make_unique<ExampleExtension>();
  connection->older = 3;
  connection->newer = 4;
  sink.write_connection(*connection);

  // The flow table reuses the slot, then frees it, before the writer gets the record.
  connection->id = 99;
  connection->key.originator = *IpAddress::parse("192.0.2.1");
  connection->originator.packets = 0;
  connection->missed_bytes = 0;
  connection.reset();
  sink.flush();

  ASSERT_EQ(inner.connections.size(), 1u);
  const SeenConnection& seen = inner.connections[0];
  EXPECT_EQ(seen.id, 41u);
  EXPECT_EQ(seen.key.originator, *IpAddress::parse("10.0.0.66"));
  EXPECT_EQ(seen.key.responder, *IpAddress::parse("2001:db8::25"));
  EXPECT_EQ(seen.key.originator_port, 50123);
  EXPECT_EQ(seen.key.responder_port, 25);
  EXPECT_EQ(seen.key.protocol, 6);
  EXPECT_EQ(seen.first_time, 100'000'000'000);
  EXPECT_EQ(seen.last_time, 160'000'000'000);
  EXPECT_EQ(seen.originator.packets, 12u);
  EXPECT_EQ(seen.originator.ip_bytes, 1300u);
  EXPECT_EQ(seen.originator.payload_bytes, 620u);
  EXPECT_EQ(seen.responder.packets, 10u);
  EXPECT_EQ(seen.responder.ip_bytes, 900u);
  EXPECT_EQ(seen.responder.payload_bytes, 380u);
  EXPECT_EQ(seen.tcp_flags_seen, 1 | 2 | 8);
  EXPECT_EQ(seen.initial_sequence, 3000000001u);
  EXPECT_EQ(seen.role_rule, RoleRule::kSynAck);
  EXPECT_EQ(seen.end, ConnectionEnd::kFin);
  EXPECT_TRUE(seen.originator_local);
  EXPECT_FALSE(seen.responder_local);
  EXPECT_TRUE(seen.smtp);
  EXPECT_EQ(seen.missed_bytes, 17u);
  EXPECT_FALSE(seen.has_extension);
  EXPECT_EQ(seen.older, UINT32_MAX);
  EXPECT_EQ(seen.newer, UINT32_MAX);
}

// Takes its time over flush, as a store committing a large transaction does.
class SlowFlushSink : public RecordingSink {
 protected:
  void note(std::string entry) override {
    if (entry == "flush") std::this_thread::sleep_for(std::chrono::milliseconds(50));
    RecordingSink::note(std::move(entry));
  }
};

TEST(ThreadedSink, FlushReturnsOnlyAfterTheWrappedSinkFlushed) {
  SlowFlushSink inner;
  ThreadedSink sink(inner);
  std::vector<std::string> expected;
  for (uint64_t n = 0; n < 20; n++) expected.push_back(write_record(sink, n));

  sink.flush();

  expected.push_back("flush");
  EXPECT_EQ(inner.log, expected);
}

// Holds the writer thread in its first write until the test opens the gate.
class GatedSink : public RecordingSink {
 public:
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    opened_.notify_all();
  }

 protected:
  void note(std::string entry) override {
    std::unique_lock lock(mutex_);
    opened_.wait(lock, [this] { return open_; });
    lock.unlock();
    RecordingSink::note(std::move(entry));
  }

 private:
  std::mutex mutex_;
  std::condition_variable opened_;
  bool open_ = false;
};

TEST(ThreadedSink, BlocksTheProducerWhenTheWriterFallsBehindAndLosesNothing) {
  GatedSink inner;
  ThreadedSink sink(inner, {.batch_records = 1, .max_batches_in_flight = 2});
  std::vector<std::string> expected;

  // With the writer stuck in record 0, records 0 and 1 fill the two places, so the hand-over
  // of record 2 has to wait.
  std::thread producer([&] {
    for (uint64_t n = 0; n < 200; n++) expected.push_back(write_record(sink, n));
    sink.flush();
    expected.push_back("flush");
  });
  while (sink.counters().producer_waits == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  inner.open();
  producer.join();

  EXPECT_EQ(inner.log, expected);
  ThreadedSinkCounters counters = sink.counters();
  EXPECT_GE(counters.producer_waits, 1u);
  EXPECT_EQ(counters.records, 200u);
  EXPECT_EQ(counters.batches, 201u);  // one per record, and the empty one with the flush
}

class SlowSink : public RecordingSink {
 protected:
  void note(std::string entry) override {
    std::this_thread::sleep_for(std::chrono::microseconds(50));
    RecordingSink::note(std::move(entry));
  }
};

TEST(ThreadedSink, SlowWrappedSinkGetsEveryRecord) {
  SlowSink inner;
  std::vector<std::string> expected;
  {
    ThreadedSink sink(inner, {.batch_records = 8, .max_batches_in_flight = 2});
    for (uint64_t n = 0; n < 2000; n++) expected.push_back(write_record(sink, n));
  }
  expected.push_back("flush");
  EXPECT_EQ(inner.log, expected);
}

TEST(ThreadedSink, DestructorWritesEverythingAndFlushesOnce) {
  RecordingSink inner;
  std::vector<std::string> expected;
  {
    ThreadedSink sink(inner);
    for (uint64_t n = 0; n < 3000; n++) expected.push_back(write_record(sink, n));
  }
  expected.push_back("flush");
  EXPECT_EQ(inner.log, expected);
}

// Fails on the event of connection 13 and on every flush.
class ThrowingSink : public RecordingSink {
 protected:
  void note(std::string entry) override {
    if (entry == "event 13 4122") throw std::runtime_error("disk full");
    if (entry == "flush") throw 7;
    RecordingSink::note(std::move(entry));
  }
};

TEST(ThreadedSink, FailuresOfTheWrappedSinkAreCountedAndDoNotStopTheWriter) {
  ThrowingSink inner;
  std::vector<std::string> expected;
  ThreadedSink sink(inner, {.batch_records = 4, .max_batches_in_flight = 1});
  for (uint64_t n = 0; n < 30; n++) {
    std::string entry = write_record(sink, n);
    if (n != 13) expected.push_back(entry);
  }

  sink.flush();

  EXPECT_EQ(inner.log, expected);
  EXPECT_EQ(sink.counters().inner_failures, 2u);
  EXPECT_EQ(sink.first_failure(), "disk full");
}

}  // namespace
}  // namespace spamtap
