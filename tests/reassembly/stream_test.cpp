#include "reassembly/stream.hpp"

#include <gtest/gtest.h>

#include <string>

namespace spamtap {
namespace {

// Writes what the reassembler delivers as text; a gap shows as "[gap N]".
struct TextSink : StreamSink {
  void stream_data(Timestamp, std::span<const uint8_t> bytes) override {
    text.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  void stream_gap(Timestamp, uint64_t missing) override {
    text += "[gap " + std::to_string(missing) + "]";
  }
  std::string text;
};

std::span<const uint8_t> bytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

TEST(StreamReassembler, InOrderAfterSyn) {
  TextSink sink;
  StreamReassembler stream;
  stream.start(1000);  // data begins at 1001
  stream.segment(0, 1001, bytes("HELO a\r\n"), sink);
  stream.segment(0, 1009, bytes("QUIT\r\n"), sink);
  EXPECT_EQ(sink.text, "HELO a\r\nQUIT\r\n");
}

TEST(StreamReassembler, OutOfOrderIsBufferedThenDelivered) {
  TextSink sink;
  StreamReassembler stream;
  stream.start(0);
  stream.segment(0, 6, bytes("world"), sink);
  EXPECT_EQ(sink.text, "");
  EXPECT_EQ(stream.buffered_bytes(), 5u);
  stream.segment(0, 1, bytes("hello"), sink);
  EXPECT_EQ(sink.text, "helloworld");
  EXPECT_EQ(stream.counters().out_of_order_segments, 1u);
}

TEST(StreamReassembler, RetransmissionAndPartialOverlapDeliverNewBytesOnce) {
  TextSink sink;
  StreamReassembler stream;
  stream.start(0);
  stream.segment(0, 1, bytes("abcd"), sink);
  stream.segment(0, 1, bytes("abcd"), sink);   // full retransmission
  stream.segment(0, 3, bytes("cdefg"), sink);  // overlaps "cd", adds "efg"
  EXPECT_EQ(sink.text, "abcdefg");
  EXPECT_EQ(stream.counters().retransmitted_bytes, 6u);
}

TEST(StreamReassembler, FirstCopyWinsOnInconsistentOverlap) {
  TextSink sink;
  StreamReassembler stream;
  stream.start(0);
  stream.segment(0, 5, bytes("EFGH"), sink);  // held: offsets 4..7
  stream.segment(0, 5, bytes("xyGH"), sink);  // same place, two bytes differ
  stream.segment(0, 1, bytes("abcd"), sink);
  EXPECT_EQ(sink.text, "abcdEFGH");
  EXPECT_EQ(stream.counters().inconsistent_overlap_bytes, 2u);
}

TEST(StreamReassembler, HoleIsReportedAsGapAtFlush) {
  TextSink sink;
  StreamReassembler stream;
  stream.start(0);
  stream.segment(0, 1, bytes("ab"), sink);
  stream.segment(0, 13, bytes("tail"), sink);  // bytes 3..12 (10 bytes) never come
  stream.flush(0, sink);
  EXPECT_EQ(sink.text, "ab[gap 10]tail");
  EXPECT_EQ(stream.counters().gap_bytes, 10u);
}

TEST(StreamReassembler, AckPastHoleDeclaresItLost) {
  TextSink sink;
  StreamReassembler stream;
  stream.start(0);
  stream.segment(0, 1, bytes("ab"), sink);
  stream.segment(0, 6, bytes("fg"), sink);  // 3 bytes missing at offsets 2..4
  stream.acknowledged(0, 5, sink);          // ack below the held data: may still come
  EXPECT_EQ(sink.text, "ab");
  stream.acknowledged(0, 8, sink);  // the peer got everything up to "g"
  EXPECT_EQ(sink.text, "ab[gap 3]fg");
}

TEST(StreamReassembler, BufferCapForcesGap) {
  TextSink sink;
  StreamLimits limits;
  limits.max_buffered_bytes = 8;
  StreamReassembler stream(limits);
  stream.start(0);
  stream.segment(0, 11, bytes("12345"), sink);
  stream.segment(0, 16, bytes("6789"), sink);  // 9 bytes held > 8: give up on the hole
  EXPECT_EQ(sink.text, "[gap 10]123456789");
}

TEST(StreamReassembler, SequenceNumbersWrapAround) {
  TextSink sink;
  StreamReassembler stream;
  stream.start(0xFFFFFFFD);  // data begins at 0xFFFFFFFE
  stream.segment(0, 0xFFFFFFFE, bytes("ab"), sink);
  stream.segment(0, 0x00000000, bytes("cd"), sink);
  EXPECT_EQ(sink.text, "abcd");
}

TEST(StreamReassembler, MidstreamStartsAtFirstData) {
  TextSink sink;
  StreamReassembler stream;
  stream.segment(0, 5000, bytes("250 ok\r\n"), sink);
  stream.segment(0, 5008, bytes("221 bye\r\n"), sink);
  EXPECT_EQ(sink.text, "250 ok\r\n221 bye\r\n");
}

}  // namespace
}  // namespace spamtap
