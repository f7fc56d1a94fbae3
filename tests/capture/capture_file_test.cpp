// CaptureFile tests on small captures written by the test itself: classic pcap in
// each flavour, pcapng with two interfaces, compressed copies, and broken files.
#include "capture/capture_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "decode/decoder.hpp"

#if __has_include(<zstd.h>)
#include <zstd.h>
#define SPAMTAP_TEST_ZSTD 1
#endif

namespace spamtap {
namespace {

using Bytes = std::vector<uint8_t>;

struct Record {
  uint32_t seconds = 0;
  uint32_t fraction = 0;  // micro- or nanoseconds, as the file says
  Bytes data;
  uint32_t wire_length = 0;        // 0: same as data
  uint32_t captured_override = 0;  // 0: data.size()
};

void put32(Bytes* out, uint32_t v, bool big_endian) {
  for (int i = 0; i < 4; ++i) {
    int shift = big_endian ? 24 - 8 * i : 8 * i;
    out->push_back(static_cast<uint8_t>(v >> shift));
  }
}
void put16(Bytes* out, uint16_t v, bool big_endian) {
  if (big_endian) {
    out->push_back(static_cast<uint8_t>(v >> 8));
    out->push_back(static_cast<uint8_t>(v));
  } else {
    out->push_back(static_cast<uint8_t>(v));
    out->push_back(static_cast<uint8_t>(v >> 8));
  }
}

Bytes classic_pcap(const std::vector<Record>& records, bool nanoseconds = false,
                   bool big_endian = false, uint32_t snap_length = 65535, int link = 1) {
  Bytes out;
  put32(&out, nanoseconds ? 0xa1b23c4d : 0xa1b2c3d4, big_endian);
  put16(&out, 2, big_endian);
  put16(&out, 4, big_endian);
  put32(&out, 0, big_endian);  // thiszone
  put32(&out, 0, big_endian);  // sigfigs
  put32(&out, snap_length, big_endian);
  put32(&out, static_cast<uint32_t>(link), big_endian);
  for (const Record& record : records) {
    uint32_t captured = record.captured_override != 0 ? record.captured_override
                                                      : static_cast<uint32_t>(record.data.size());
    put32(&out, record.seconds, big_endian);
    put32(&out, record.fraction, big_endian);
    put32(&out, captured, big_endian);
    put32(&out, record.wire_length != 0 ? record.wire_length : captured, big_endian);
    out.insert(out.end(), record.data.begin(), record.data.end());
  }
  return out;
}

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/spamtap-capture-test-XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string write(const std::string& name, const Bytes& bytes) const {
    std::string path = path_ + "/" + name;
    FILE* file = std::fopen(path.c_str(), "wb");
    if (!bytes.empty()) std::fwrite(bytes.data(), 1, bytes.size(), file);
    std::fclose(file);
    return path;
  }
  std::string write_gzip(const std::string& name, const Bytes& bytes) const {
    std::string path = path_ + "/" + name;
    gzFile file = gzopen(path.c_str(), "wb");
    gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(file);
    return path;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Bytes frame_bytes(uint8_t fill, size_t size) {
  return Bytes(size, fill);
}

// A minimal Ethernet/IPv4/TCP frame to or from port 25 or 80, 54 bytes.
Bytes tcp_frame(uint16_t destination_port) {
  Bytes frame = {0,
                 1,
                 2,
                 3,
                 4,
                 5,
                 6,
                 7,
                 8,
                 9,
                 10,
                 11,
                 0x08,
                 0x00,
                 0x45,
                 0x00,
                 0x00,
                 0x28,
                 0,
                 1,
                 0,
                 0,
                 64,
                 6,
                 0,
                 0,
                 10,
                 0,
                 0,
                 1,
                 10,
                 0,
                 0,
                 2,
                 0x30,
                 0x39,
                 static_cast<uint8_t>(destination_port >> 8),
                 static_cast<uint8_t>(destination_port),
                 0,
                 0,
                 0,
                 1,
                 0,
                 0,
                 0,
                 0,
                 0x50,
                 0x02,
                 0xff,
                 0xff,
                 0,
                 0,
                 0,
                 0};
  return frame;
}

std::vector<Frame> read_all(CaptureFile* capture, CaptureFile::ReadStatus* last,
                            std::vector<Bytes>* contents = nullptr) {
  std::vector<Frame> frames;
  Frame frame;
  for (;;) {
    *last = capture->next(&frame);
    if (*last != CaptureFile::ReadStatus::kFrame) break;
    frames.push_back(frame);
    if (contents != nullptr) contents->emplace_back(frame.data, frame.data + frame.captured_length);
  }
  return frames;
}

TEST(CaptureFile, ClassicMicrosecondPcap) {
  TempDir dir;
  std::string path = dir.write("micro.pcap", classic_pcap({{1700000000, 123456, tcp_frame(25)},
                                                           {1700000001, 1, frame_bytes(7, 60)}}));
  std::string error;
  auto capture = CaptureFile::open(path, "", &error);
  ASSERT_NE(capture, nullptr) << error;
  CaptureFile::ReadStatus last;
  std::vector<Bytes> contents;
  auto frames = read_all(capture.get(), &last, &contents);
  EXPECT_EQ(last, CaptureFile::ReadStatus::kEnd);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].time, 1700000000 * kNanosPerSecond + 123456000);  // µs scaled to ns
  EXPECT_EQ(frames[0].captured_length, 54u);
  EXPECT_EQ(frames[0].link_type, link_type::kEthernet);
  EXPECT_EQ(contents[0], tcp_frame(25));
  EXPECT_EQ(frames[1].time, 1700000001 * kNanosPerSecond + 1000);
  EXPECT_EQ(capture->bytes_consumed(), capture->total_bytes());
  EXPECT_EQ(capture->total_bytes(), 24u + 16 + 54 + 16 + 60);
}

TEST(CaptureFile, NanosecondMagicKeepsNanoseconds) {
  TempDir dir;
  std::string path =
      dir.write("nano.pcap", classic_pcap({{1700000000, 123456789, tcp_frame(25)}}, true));
  std::string error;
  auto capture = CaptureFile::open(path, "", &error);
  ASSERT_NE(capture, nullptr) << error;
  Frame frame;
  ASSERT_EQ(capture->next(&frame), CaptureFile::ReadStatus::kFrame);
  EXPECT_EQ(frame.time, 1700000000 * kNanosPerSecond + 123456789);
}

TEST(CaptureFile, BigEndianPcap) {
  TempDir dir;
  std::string path =
      dir.write("big.pcap", classic_pcap({{1700000000, 5, tcp_frame(25), 1500}}, false, true));
  std::string error;
  auto capture = CaptureFile::open(path, "", &error);
  ASSERT_NE(capture, nullptr) << error;
  Frame frame;
  ASSERT_EQ(capture->next(&frame), CaptureFile::ReadStatus::kFrame);
  EXPECT_EQ(frame.time, 1700000000 * kNanosPerSecond + 5000);
  EXPECT_EQ(frame.captured_length, 54u);
  EXPECT_EQ(frame.wire_length, 1500u);
  EXPECT_EQ(capture->next(&frame), CaptureFile::ReadStatus::kEnd);
}

TEST(CaptureFile, GzipCompressedPcap) {
  TempDir dir;
  Bytes pcap = classic_pcap({{10, 0, tcp_frame(25)}, {11, 0, tcp_frame(80)}});
  std::string path = dir.write_gzip("capture.pcap.gz", pcap);
  std::string error;
  auto capture = CaptureFile::open(path, "", &error);
  ASSERT_NE(capture, nullptr) << error;
  CaptureFile::ReadStatus last;
  std::vector<Bytes> contents;
  auto frames = read_all(capture.get(), &last, &contents);
  EXPECT_EQ(last, CaptureFile::ReadStatus::kEnd) << capture->error();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(contents[1], tcp_frame(80));
  EXPECT_GT(capture->bytes_consumed(), 0u);
}

TEST(CaptureFile, GzipCutShortEndsWithError) {
  TempDir dir;
  std::vector<Record> records;
  for (uint32_t i = 0; i < 200; ++i) records.push_back({i, 0, frame_bytes(uint8_t(i), 200)});
  std::string whole = dir.write_gzip("whole.pcap.gz", classic_pcap(records));
  FILE* file = std::fopen(whole.c_str(), "rb");
  Bytes compressed(std::filesystem::file_size(whole));
  ASSERT_EQ(std::fread(compressed.data(), 1, compressed.size(), file), compressed.size());
  std::fclose(file);
  compressed.resize(compressed.size() / 2);
  std::string path = dir.write("cut.pcap.gz", compressed);

  std::string error;
  auto capture = CaptureFile::open(path, "", &error);
  ASSERT_NE(capture, nullptr) << error;
  CaptureFile::ReadStatus last;
  auto frames = read_all(capture.get(), &last);
  EXPECT_EQ(last, CaptureFile::ReadStatus::kError);
  EXPECT_GT(frames.size(), 0u);
  EXPECT_LT(frames.size(), 200u);
  EXPECT_NE(capture->error().find("truncated or corrupt record at byte offset"), std::string::npos)
      << capture->error();
}

#ifdef SPAMTAP_TEST_ZSTD
TEST(CaptureFile, ZstdCompressedPcap) {
  TempDir dir;
  Bytes pcap = classic_pcap({{10, 0, tcp_frame(25)}, {11, 0, tcp_frame(80)}});
  Bytes compressed(ZSTD_compressBound(pcap.size()));
  size_t size = ZSTD_compress(compressed.data(), compressed.size(), pcap.data(), pcap.size(), 3);
  ASSERT_FALSE(ZSTD_isError(size));
  compressed.resize(size);
  std::string path = dir.write("capture.pcap.zst", compressed);
  std::string error;
  auto capture = CaptureFile::open(path, "", &error);
  if (capture == nullptr && error.find("without zstd") != std::string::npos) {
    GTEST_SKIP() << error;
  }
  ASSERT_NE(capture, nullptr) << error;
  CaptureFile::ReadStatus last;
  auto frames = read_all(capture.get(), &last);
  EXPECT_EQ(last, CaptureFile::ReadStatus::kEnd) << capture->error();
  EXPECT_EQ(frames.size(), 2u);
}
#endif

TEST(CaptureFile, TruncatedLastRecordDeliversGoodFramesThenError) {
  TempDir dir;
  Bytes pcap = classic_pcap({{1, 0, tcp_frame(25)}, {2, 0, tcp_frame(80)}, {3, 0, tcp_frame(25)}});
  pcap.resize(pcap.size() - 30);  // the third record keeps 24 of its 54 bytes
  std::string path = dir.write("cut.pcap", pcap);
  std::string error;
  auto capture = CaptureFile::open(path, "", &error);
  ASSERT_NE(capture, nullptr) << error;
  CaptureFile::ReadStatus last;
  auto frames = read_all(capture.get(), &last);
  EXPECT_EQ(frames.size(), 2u);
  ASSERT_EQ(last, CaptureFile::ReadStatus::kError);
  // The third record starts after the file header and two records: 24 + 2 * (16 + 54).
  EXPECT_NE(capture->error().find(path + ": truncated or corrupt record at byte offset 164"),
            std::string::npos)
      << capture->error();
  Frame frame;
  EXPECT_EQ(capture->next(&frame), CaptureFile::ReadStatus::kError);  // stays failed
}

TEST(CaptureFile, TruncatedRecordHeader) {
  TempDir dir;
  Bytes pcap = classic_pcap({{1, 0, tcp_frame(25)}});
  pcap.insert(pcap.end(), {1, 2, 3, 4, 5});  // 5 of a record header's 16 bytes
  std::string path = dir.write("cut-header.pcap", pcap);
  std::string error;
  auto capture = CaptureFile::open(path, "", &error);
  ASSERT_NE(capture, nullptr) << error;
  CaptureFile::ReadStatus last;
  auto frames = read_all(capture.get(), &last);
  EXPECT_EQ(frames.size(), 1u);
  ASSERT_EQ(last, CaptureFile::ReadStatus::kError);
  EXPECT_NE(capture->error().find("byte offset 94"), std::string::npos) << capture->error();
}

TEST(CaptureFile, CapturedLengthAboveSnapLengthIsToleratedLikeLibpcap) {
  TempDir dir;
  // Snap length 64, but the second record holds 100 bytes (wire 100). libpcap and
  // tshark accept such files; libpcap keeps the first 64 bytes. The third record
  // must still be found where it is.
  Bytes pcap =
      classic_pcap({{1, 0, tcp_frame(25)}, {2, 0, frame_bytes(1, 100)}, {3, 0, tcp_frame(80)}},
                   false, false, 64);
  std::string path = dir.write("snap.pcap", pcap);
  std::string error;
  auto capture = CaptureFile::open(path, "", &error);
  ASSERT_NE(capture, nullptr) << error;
  CaptureFile::ReadStatus last;
  std::vector<Bytes> contents;
  auto frames = read_all(capture.get(), &last, &contents);
  EXPECT_EQ(last, CaptureFile::ReadStatus::kEnd) << capture->error();
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[1].captured_length, 64u);
  EXPECT_EQ(frames[1].wire_length, 100u);
  EXPECT_EQ(contents[2], tcp_frame(80));
}

// A plain pcap is read through a memory map, a gzip one through libpcap: two readers
// written independently must give the same frames (times, lengths, bytes, link type)
// and stop at the same record with the same offset, on every header variant.
TEST(CaptureFile, MappedAndLibpcapReadersAgree) {
  TempDir dir;
  Record late{9, 999999, tcp_frame(80)};
  Record invalid{10, 0xFFFFFFF0u, tcp_frame(25)};  // a fraction past a second: taken as 0
  Record cut{11, 0, frame_bytes(7, 100)};          // longer than the snap length
  Record broken{12, 0, frame_bytes(1, 10)};
  broken.captured_override = 40;  // claims more than the file holds
  int variant = 0;
  for (bool nanoseconds : {false, true}) {
    for (bool big_endian : {false, true}) {
      for (int link : {1, 101, 113}) {
        Bytes pcap = classic_pcap({{1, 5, tcp_frame(25)}, late, invalid, cut, broken}, nanoseconds,
                                  big_endian, 64, link);
        std::string name = "v" + std::to_string(variant++);
        std::string plain = dir.write(name + ".pcap", pcap);
        std::string packed = dir.write_gzip(name + ".pcap.gz", pcap);
        std::string error;
        auto mapped = CaptureFile::open(plain, "", &error);
        auto libpcap = CaptureFile::open(packed, "", &error);
        ASSERT_TRUE(mapped && libpcap) << error;
        CaptureFile::ReadStatus mapped_last;
        CaptureFile::ReadStatus libpcap_last;
        std::vector<Bytes> mapped_bytes;
        std::vector<Bytes> libpcap_bytes;
        auto a = read_all(mapped.get(), &mapped_last, &mapped_bytes);
        auto b = read_all(libpcap.get(), &libpcap_last, &libpcap_bytes);
        SCOPED_TRACE(name);
        ASSERT_EQ(a.size(), 4u);
        ASSERT_EQ(b.size(), 4u);
        for (size_t i = 0; i < a.size(); ++i) {
          EXPECT_EQ(a[i].time, b[i].time) << i;
          EXPECT_EQ(a[i].captured_length, b[i].captured_length) << i;
          EXPECT_EQ(a[i].wire_length, b[i].wire_length) << i;
          EXPECT_EQ(a[i].link_type, b[i].link_type) << i;
          EXPECT_EQ(mapped_bytes[i], libpcap_bytes[i]) << i;
        }
        EXPECT_EQ(a[2].time, seconds(10));
        EXPECT_EQ(a[3].captured_length, 64u);
        EXPECT_EQ(mapped_last, CaptureFile::ReadStatus::kError);
        EXPECT_EQ(libpcap_last, CaptureFile::ReadStatus::kError);
        // 24 + 3 * (16 + 54) + (16 + 100): where the broken record starts.
        EXPECT_NE(mapped->error().find("byte offset 350"), std::string::npos) << mapped->error();
        EXPECT_NE(libpcap->error().find("byte offset 350"), std::string::npos) << libpcap->error();
      }
    }
  }
}

// Another process cuts the file short while it is read (a rotation by truncation): the
// reader stops with an error instead of the process dying of SIGBUS.
TEST(CaptureFile, FileCutShortWhileMappedEndsWithAnError) {
  TempDir dir;
  std::vector<Record> records;
  for (uint32_t i = 0; i < 3000; ++i) {
    records.push_back({i, 0, frame_bytes(static_cast<uint8_t>(i), 1400)});
  }
  std::string path = dir.write("rotating.pcap", classic_pcap(records));
  std::string error;
  auto capture = CaptureFile::open(path, "", &error);
  ASSERT_NE(capture, nullptr) << error;
  Frame frame;
  ASSERT_EQ(capture->next(&frame), CaptureFile::ReadStatus::kFrame);
  // Cut after the first page: records 1 and 2 (bytes 24-2855) are whole in it, record 3
  // starts in it but its frame ends in the second page.
  ASSERT_EQ(truncate(path.c_str(), 4096), 0);
  int more = 0;
  CaptureFile::ReadStatus status;
  while ((status = capture->next(&frame)) == CaptureFile::ReadStatus::kFrame) ++more;
  EXPECT_EQ(more, 1);
  EXPECT_EQ(status, CaptureFile::ReadStatus::kError);
  EXPECT_NE(capture->error().find("became shorter while it was being read"), std::string::npos)
      << capture->error();
}

TEST(CaptureFile, HugeCapturedLengthIsAnError) {
  TempDir dir;
  Record liar{1, 0, frame_bytes(1, 10)};
  liar.captured_override = 300000;  // over the 262144 maximum
  std::string path =
      dir.write("huge.pcap", classic_pcap({{1, 0, tcp_frame(25)}, liar}, false, false, 262144));
  std::string error;
  auto capture = CaptureFile::open(path, "", &error);
  ASSERT_NE(capture, nullptr) << error;
  CaptureFile::ReadStatus last;
  auto frames = read_all(capture.get(), &last);
  EXPECT_EQ(frames.size(), 1u);
  ASSERT_EQ(last, CaptureFile::ReadStatus::kError);
  EXPECT_NE(capture->error().find("byte offset 94"), std::string::npos) << capture->error();
}

TEST(CaptureFile, NotACapture) {
  TempDir dir;
  std::string path = dir.write("notes.txt", {'h', 'e', 'l', 'l', 'o', '\n'});
  std::string error;
  EXPECT_EQ(CaptureFile::open(path, "", &error), nullptr);
  EXPECT_EQ(error, path + ": not a pcap or pcapng capture (first bytes 68 65 6c 6c)");

  std::string empty = dir.write("empty", {});
  EXPECT_EQ(CaptureFile::open(empty, "", &error), nullptr);
  EXPECT_NE(error.find("not a pcap or pcapng capture"), std::string::npos);

  EXPECT_EQ(CaptureFile::open(dir.path() + "/missing.pcap", "", &error), nullptr);
  EXPECT_NE(error.find("missing.pcap: cannot open"), std::string::npos) << error;
}

TEST(CaptureFile, EmptyCaptureEndsAtOnce) {
  TempDir dir;
  std::string path = dir.write("empty.pcap", classic_pcap({}));
  std::string error;
  auto capture = CaptureFile::open(path, "", &error);
  ASSERT_NE(capture, nullptr) << error;
  Frame frame;
  EXPECT_EQ(capture->next(&frame), CaptureFile::ReadStatus::kEnd);
}

TEST(CaptureFile, BadFilterFailsAtOpen) {
  TempDir dir;
  std::string path = dir.write("f.pcap", classic_pcap({{1, 0, tcp_frame(25)}}));
  std::string error;
  EXPECT_EQ(CaptureFile::open(path, "tcp port smtpx and", &error), nullptr);
  EXPECT_NE(error.find("\"tcp port smtpx and\""), std::string::npos) << error;
  EXPECT_NE(error.find(path), std::string::npos) << error;
}

TEST(CaptureFile, FilterSelectsFramesAndCountsTheRest) {
  TempDir dir;
  std::string path = dir.write(
      "f.pcap",
      classic_pcap({{1, 0, tcp_frame(25)}, {2, 0, tcp_frame(80)}, {3, 0, tcp_frame(25)}}));
  std::string error;
  auto capture = CaptureFile::open(path, "tcp dst port 25", &error);
  ASSERT_NE(capture, nullptr) << error;
  CaptureFile::ReadStatus last;
  auto frames = read_all(capture.get(), &last);
  EXPECT_EQ(last, CaptureFile::ReadStatus::kEnd);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].time, seconds(3));
  EXPECT_EQ(capture->frames_filtered(), 1u);
}

// pcapng: section header, two interfaces (Ethernet with the default microsecond
// resolution, raw IP with nanoseconds), and enhanced packet blocks on each.
Bytes pcapng(bool big_endian, bool cut_last = false) {
  Bytes out;
  auto block = [&](uint32_t type, const Bytes& body) {
    uint32_t length = static_cast<uint32_t>(12 + ((body.size() + 3) & ~size_t{3}));
    put32(&out, type, big_endian);
    put32(&out, length, big_endian);
    out.insert(out.end(), body.begin(), body.end());
    out.resize(out.size() + (((body.size() + 3) & ~size_t{3}) - body.size()), 0);
    put32(&out, length, big_endian);
  };
  Bytes section;
  put32(&section, 0x1A2B3C4D, big_endian);
  put16(&section, 1, big_endian);
  put16(&section, 0, big_endian);
  put32(&section, 0xffffffff, big_endian);  // section length unknown
  put32(&section, 0xffffffff, big_endian);
  block(0x0A0D0D0A, section);

  Bytes ethernet;
  put16(&ethernet, 1, big_endian);
  put16(&ethernet, 0, big_endian);
  put32(&ethernet, 0, big_endian);  // no snap length
  block(1, ethernet);

  Bytes raw;
  put16(&raw, 101, big_endian);
  put16(&raw, 0, big_endian);
  put32(&raw, 65535, big_endian);
  put16(&raw, 9, big_endian);  // if_tsresol
  put16(&raw, 1, big_endian);
  raw.insert(raw.end(), {9, 0, 0, 0});  // 10^-9
  put16(&raw, 0, big_endian);           // opt_endofopt
  put16(&raw, 0, big_endian);
  block(1, raw);

  block(0x00000BAD, {1, 2, 3, 4});  // a block type the reader does not know

  auto packet = [&](uint32_t interface, uint64_t units, const Bytes& data) {
    Bytes body;
    put32(&body, interface, big_endian);
    put32(&body, static_cast<uint32_t>(units >> 32), big_endian);
    put32(&body, static_cast<uint32_t>(units), big_endian);
    put32(&body, static_cast<uint32_t>(data.size()), big_endian);
    put32(&body, static_cast<uint32_t>(data.size()), big_endian);
    body.insert(body.end(), data.begin(), data.end());
    block(6, body);
  };
  packet(0, 1700000000ull * 1000000 + 250000, tcp_frame(25));
  Bytes ethernet_frame = tcp_frame(25);
  Bytes ip(ethernet_frame.begin() + 14, ethernet_frame.end());
  packet(1, 1700000000ull * 1000000000 + 123456789, ip);
  if (cut_last) out.resize(out.size() - 10);
  return out;
}

void check_pcapng(bool big_endian) {
  TempDir dir;
  std::string path = dir.write("multi.pcapng", pcapng(big_endian));
  std::string error;
  auto capture = CaptureFile::open(path, "", &error);
  ASSERT_NE(capture, nullptr) << error;
  CaptureFile::ReadStatus last;
  auto frames = read_all(capture.get(), &last);
  EXPECT_EQ(last, CaptureFile::ReadStatus::kEnd) << capture->error();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].link_type, link_type::kEthernet);
  EXPECT_EQ(frames[0].time, 1700000000 * kNanosPerSecond + 250000000);
  EXPECT_EQ(frames[0].captured_length, 54u);
  EXPECT_EQ(frames[1].link_type, link_type::kRaw);
  EXPECT_EQ(frames[1].time, 1700000000 * kNanosPerSecond + 123456789);
  EXPECT_EQ(frames[1].captured_length, 40u);
  EXPECT_EQ(capture->bytes_consumed(), capture->total_bytes());
}

TEST(CaptureFile, PcapngTwoInterfacesLittleEndian) {
  check_pcapng(false);
}
TEST(CaptureFile, PcapngTwoInterfacesBigEndian) {
  check_pcapng(true);
}

TEST(CaptureFile, PcapngFilterPerLinkType) {
  TempDir dir;
  std::string path = dir.write("multi.pcapng", pcapng(false));
  std::string error;
  auto capture = CaptureFile::open(path, "tcp port 25", &error);
  ASSERT_NE(capture, nullptr) << error;
  CaptureFile::ReadStatus last;
  auto frames = read_all(capture.get(), &last);
  EXPECT_EQ(frames.size(), 2u) << capture->error();  // both match, each on its own link

  auto none = CaptureFile::open(path, "udp", &error);
  ASSERT_NE(none, nullptr) << error;
  EXPECT_EQ(read_all(none.get(), &last).size(), 0u);
  EXPECT_EQ(none->frames_filtered(), 2u);
  EXPECT_EQ(CaptureFile::open(path, "port port", &error), nullptr);
}

TEST(CaptureFile, PcapngCutShort) {
  TempDir dir;
  Bytes bytes = pcapng(false, true);
  std::string path = dir.write("cut.pcapng", bytes);
  std::string error;
  auto capture = CaptureFile::open(path, "", &error);
  ASSERT_NE(capture, nullptr) << error;
  CaptureFile::ReadStatus last;
  auto frames = read_all(capture.get(), &last);
  EXPECT_EQ(frames.size(), 1u);
  ASSERT_EQ(last, CaptureFile::ReadStatus::kError);
  // The last block is 12 + 20 + 40 = 72 bytes and lost 10: it began at size + 10 - 72.
  std::string expected = "byte offset " + std::to_string(bytes.size() + 10 - 72);
  EXPECT_NE(capture->error().find(expected), std::string::npos) << capture->error();
}

TEST(CaptureFile, PcapngGzip) {
  TempDir dir;
  std::string path = dir.write_gzip("multi.pcapng.gz", pcapng(true));
  std::string error;
  auto capture = CaptureFile::open(path, "", &error);
  ASSERT_NE(capture, nullptr) << error;
  CaptureFile::ReadStatus last;
  EXPECT_EQ(read_all(capture.get(), &last).size(), 2u);
  EXPECT_EQ(last, CaptureFile::ReadStatus::kEnd);
}

Bytes join_options(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

Bytes le64(uint64_t v) {
  Bytes out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return out;
}

// A little-endian pcapng writer for tests that need interfaces of their own.
class PcapngWriter {
 public:
  PcapngWriter() {
    Bytes section;
    put32(&section, 0x1A2B3C4D, false);
    put16(&section, 1, false);
    put16(&section, 0, false);
    put32(&section, 0xffffffff, false);
    put32(&section, 0xffffffff, false);
    block(0x0A0D0D0A, section);
  }

  // `options` are whole option TLVs; the end-of-options marker is added.
  void interface(int link, uint32_t snap_length, const Bytes& options = {}) {
    Bytes body;
    put16(&body, static_cast<uint16_t>(link), false);
    put16(&body, 0, false);
    put32(&body, snap_length, false);
    body.insert(body.end(), options.begin(), options.end());
    put32(&body, 0, false);
    block(1, body);
  }

  void packet(uint32_t interface, uint64_t units, const Bytes& data, uint32_t wire = 0) {
    Bytes body;
    put32(&body, interface, false);
    put32(&body, static_cast<uint32_t>(units >> 32), false);
    put32(&body, static_cast<uint32_t>(units), false);
    put32(&body, static_cast<uint32_t>(data.size()), false);
    put32(&body, wire != 0 ? wire : static_cast<uint32_t>(data.size()), false);
    body.insert(body.end(), data.begin(), data.end());
    block(6, body);
  }

  const Bytes& bytes() const { return out_; }

 private:
  void block(uint32_t type, const Bytes& body) {
    size_t padded = (body.size() + 3) & ~size_t{3};
    uint32_t length = static_cast<uint32_t>(12 + padded);
    put32(&out_, type, false);
    put32(&out_, length, false);
    out_.insert(out_.end(), body.begin(), body.end());
    out_.resize(out_.size() + (padded - body.size()), 0);
    put32(&out_, length, false);
  }

  Bytes out_;
};

Bytes option(uint16_t code, const Bytes& value) {
  Bytes out;
  put16(&out, code, false);
  put16(&out, static_cast<uint16_t>(value.size()), false);
  out.insert(out.end(), value.begin(), value.end());
  out.resize((out.size() + 3) & ~size_t{3}, 0);
  return out;
}

// The IPv4/TCP part of tcp_frame(), without its Ethernet header.
Bytes ip_of(const Bytes& ethernet_frame) {
  return Bytes(ethernet_frame.begin() + 14, ethernet_frame.end());
}

// Linux cooked headers around an IPv4 packet.
Bytes sll_frame(const Bytes& ip) {
  Bytes frame = {0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00};
  frame.insert(frame.end(), ip.begin(), ip.end());
  return frame;
}
Bytes sll2_frame(const Bytes& ip) {
  Bytes frame = {0x08, 0x00, 0, 0, 0, 0, 0, 3, 0x00, 0x01, 0x00, 0x06, 1, 2, 3, 4, 5, 6, 0, 0};
  frame.insert(frame.end(), ip.begin(), ip.end());
  return frame;
}

uint16_t decoded_destination_port(const Frame& frame) {
  Decoder decoder;
  Packet packet;
  if (decoder.decode(frame, &packet) != DecodeStatus::kPacket) return 0;
  return packet.destination_port;
}

TEST(CaptureFile, PcapngInterfacesKeepTheirOwnLinkSnapAndClock) {
  // Interface 0: Ethernet, microseconds (the default), no snap length.
  // Interface 1: Linux SLL2, snap length 64, 2^-20 s units, clock offset 1000 s.
  // Interface 2: Linux SLL, snap length 128, milliseconds (10^-3).
  PcapngWriter writer;
  writer.interface(link_type::kEthernet, 0);
  writer.interface(link_type::kLinuxSll2, 64,
                   join_options({option(9, {0x80 | 20}), option(14, le64(1000))}));
  writer.interface(link_type::kLinuxSll, 128, option(9, {3}));
  writer.packet(0, 1700000000ull * 1000000 + 1, tcp_frame(25));
  // 1700000000.5 s in 2^-20 units; the frame was 1000 bytes on the wire.
  writer.packet(1, (1700000000ull << 20) + (1u << 19), sll2_frame(ip_of(tcp_frame(587))), 1000);
  writer.packet(2, 1700000000ull * 1000 + 7, sll_frame(ip_of(tcp_frame(465))));

  TempDir dir;
  std::string path = dir.write("three.pcapng", writer.bytes());
  std::string error;
  auto capture = CaptureFile::open(path, "", &error);
  ASSERT_NE(capture, nullptr) << error;
  CaptureFile::ReadStatus last;
  std::vector<Bytes> contents;
  auto frames = read_all(capture.get(), &last, &contents);
  EXPECT_EQ(last, CaptureFile::ReadStatus::kEnd) << capture->error();
  ASSERT_EQ(frames.size(), 3u);

  EXPECT_EQ(frames[0].link_type, link_type::kEthernet);
  EXPECT_EQ(frames[0].time, 1700000000 * kNanosPerSecond + 1000);
  EXPECT_EQ(frames[1].link_type, link_type::kLinuxSll2);
  EXPECT_EQ(frames[1].time, 1700001000 * kNanosPerSecond + 500000000);
  EXPECT_EQ(frames[1].captured_length, 60u);
  EXPECT_EQ(frames[1].wire_length, 1000u);
  EXPECT_EQ(frames[2].link_type, link_type::kLinuxSll);
  EXPECT_EQ(frames[2].time, 1700000000 * kNanosPerSecond + 7000000);

  // Each frame decodes under its own link type.
  const uint16_t expected_ports[] = {25, 587, 465};
  for (size_t i = 0; i < frames.size(); ++i) {
    Frame frame = frames[i];
    frame.data = contents[i].data();
    EXPECT_EQ(decoded_destination_port(frame), expected_ports[i]) << "frame " << i;
  }
}

TEST(CaptureFile, ClassicPcapOfLinuxCookedCapturesDecodes) {
  for (int link : {link_type::kLinuxSll, link_type::kLinuxSll2}) {
    SCOPED_TRACE(link);
    Bytes ip = ip_of(tcp_frame(25));
    Bytes data = link == link_type::kLinuxSll ? sll_frame(ip) : sll2_frame(ip);
    TempDir dir;
    std::string path = dir.write(
        "cooked.pcap", classic_pcap({{1700000000, 999999999, data}}, true, false, 65535, link));
    std::string error;
    auto capture = CaptureFile::open(path, "", &error);
    ASSERT_NE(capture, nullptr) << error;
    Frame frame;
    ASSERT_EQ(capture->next(&frame), CaptureFile::ReadStatus::kFrame);
    EXPECT_EQ(frame.link_type, link);
    EXPECT_EQ(frame.time, 1700000000 * kNanosPerSecond + 999999999);  // to the nanosecond
    EXPECT_EQ(decoded_destination_port(frame), 25);
  }
}

#ifdef SPAMTAP_TEST_ZSTD
TEST(CaptureFile, PcapngZstd) {
  TempDir dir;
  Bytes pcapng_bytes = pcapng(false);
  Bytes compressed(ZSTD_compressBound(pcapng_bytes.size()));
  size_t size = ZSTD_compress(compressed.data(), compressed.size(), pcapng_bytes.data(),
                              pcapng_bytes.size(), 3);
  ASSERT_FALSE(ZSTD_isError(size));
  compressed.resize(size);
  std::string path = dir.write("multi.pcapng.zst", compressed);
  std::string error;
  auto capture = CaptureFile::open(path, "", &error);
  if (capture == nullptr && error.find("without zstd") != std::string::npos) {
    GTEST_SKIP() << error;
  }
  ASSERT_NE(capture, nullptr) << error;
  CaptureFile::ReadStatus last;
  auto frames = read_all(capture.get(), &last);
  EXPECT_EQ(last, CaptureFile::ReadStatus::kEnd) << capture->error();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].time, 1700000000 * kNanosPerSecond + 123456789);
}

TEST(CaptureFile, ZstdCutShortReportsTheOffset) {
  // 2000 records of 200 bytes are about 400 KiB: four zstd blocks of up to 128 KiB.
  // The bytes are pseudo-random so every block compresses to about the same size,
  // and half of the compressed file still holds the first block whole.
  TempDir dir;
  std::vector<Record> records;
  uint32_t state = 12345;
  for (uint32_t i = 0; i < 2000; ++i) {
    Bytes data(200);
    for (uint8_t& byte : data) {
      state = state * 1103515245 + 12345;
      byte = static_cast<uint8_t>(state >> 16);
    }
    records.push_back({i, 0, data});
  }
  Bytes pcap = classic_pcap(records);
  Bytes compressed(ZSTD_compressBound(pcap.size()));
  size_t size = ZSTD_compress(compressed.data(), compressed.size(), pcap.data(), pcap.size(), 1);
  ASSERT_FALSE(ZSTD_isError(size));
  compressed.resize(size / 2);
  std::string path = dir.write("cut.pcap.zst", compressed);
  std::string error;
  auto capture = CaptureFile::open(path, "", &error);
  if (capture == nullptr && error.find("without zstd") != std::string::npos) {
    GTEST_SKIP() << error;
  }
  ASSERT_NE(capture, nullptr) << error;
  CaptureFile::ReadStatus last;
  auto frames = read_all(capture.get(), &last);
  EXPECT_EQ(last, CaptureFile::ReadStatus::kError);
  EXPECT_GT(frames.size(), 0u);
  EXPECT_LT(frames.size(), 2000u);
  EXPECT_NE(capture->error().find(path + ": truncated or corrupt record at byte offset"),
            std::string::npos)
      << capture->error();
}

TEST(CaptureFile, ZstdWithNothingDecompressibleFailsAtOpenNamingTheFile) {
  TempDir dir;
  Bytes pcap = classic_pcap({{1, 0, tcp_frame(25)}});
  Bytes compressed(ZSTD_compressBound(pcap.size()));
  size_t size = ZSTD_compress(compressed.data(), compressed.size(), pcap.data(), pcap.size(), 3);
  ASSERT_FALSE(ZSTD_isError(size));
  compressed.resize(size - 4);  // the only block loses its end
  std::string path = dir.write("broken.pcap.zst", compressed);
  std::string error;
  auto capture = CaptureFile::open(path, "", &error);
  if (error.find("without zstd") != std::string::npos) GTEST_SKIP() << error;
  EXPECT_EQ(capture, nullptr);
  EXPECT_EQ(error.rfind(path + ": cannot decompress", 0), 0u) << error;
}
#endif

}  // namespace
}  // namespace spamtap

namespace spamtap {
namespace {

TEST(CheckBpfFilter, SyntaxErrorsAreFoundBeforeReading) {
  std::string error;
  EXPECT_TRUE(check_bpf_filter("", &error));
  EXPECT_TRUE(check_bpf_filter("tcp port 25 or tcp port 587", &error)) << error;
  EXPECT_FALSE(check_bpf_filter("tcp port", &error));
  EXPECT_FALSE(error.empty());
}

}  // namespace
}  // namespace spamtap
