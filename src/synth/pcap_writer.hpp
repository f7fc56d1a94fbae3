// PcapWriter: writes a classic pcap file (Ethernet link type) through one large
// buffer. A caller asks for room for a frame, builds the frame in place and
// commits it with its capture time, so writing a packet copies nothing and
// allocates nothing.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/time.hpp"

namespace spamtap::synth {

enum class TimestampPrecision { kMicroseconds, kNanoseconds };

class PcapWriter {
 public:
  // Opens (truncates) `path` and writes the file header. Throws
  // std::runtime_error naming the path when the file cannot be created.
  PcapWriter(const std::string &path, TimestampPrecision precision, size_t buffer_bytes = 8u << 20);
  ~PcapWriter();  // flushes; errors at this point are lost, call close() to see
                  // them
  PcapWriter(const PcapWriter &) = delete;
  PcapWriter &operator=(const PcapWriter &) = delete;

  // Room for one frame of at most `max_length` bytes, valid until
  // commit_frame().
  uint8_t *begin_frame(size_t max_length);
  // Records the frame written at the pointer from begin_frame(), `length` bytes
  // long.
  void commit_frame(Timestamp time, size_t length);

  // Flushes and closes; throws std::runtime_error on a write error (disk full).
  void close();

  uint64_t packets() const { return packets_; }
  // Bytes of the file so far, header included.
  uint64_t file_bytes() const { return file_bytes_; }

 private:
  static constexpr size_t kRecordHeaderLength = 16;

  void drain();

  std::string path_;
  std::FILE *file_ = nullptr;
  TimestampPrecision precision_;
  std::vector<uint8_t> buffer_;
  size_t used_ = 0;
  uint64_t packets_ = 0;
  uint64_t file_bytes_ = 0;
};

}  // namespace spamtap::synth
