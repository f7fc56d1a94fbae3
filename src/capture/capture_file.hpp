// CaptureFile: reads one capture file front to back (pcap, pcapng, and the same
// compressed with gzip or zstd), applying an optional BPF filter. Each frame comes out
// with its own link type, so pcapng files with several interfaces decode correctly.
// A file that is not a capture fails at open(); a record that is cut short or lies
// about its lengths ends reading with an error naming the byte offset, after every
// good frame before it has been delivered.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/time.hpp"

namespace spamtap {

// DLT_/LINKTYPE_ values the decoder understands.
namespace link_type {
constexpr int kNull = 0;        // BSD loopback, host-order address family
constexpr int kEthernet = 1;
constexpr int kRaw = 101;       // raw IPv4 or IPv6 (LINKTYPE_RAW)
constexpr int kRawAlt = 12;     // DLT_RAW on some systems
constexpr int kLoop = 108;      // OpenBSD loopback, network-order family
constexpr int kLinuxSll = 113;
constexpr int kIpv4 = 228;
constexpr int kIpv6 = 229;
constexpr int kNflog = 239;     // Linux netfilter log: a header and TLVs, one holds the packet
constexpr int kLinuxSll2 = 276;
}  // namespace link_type

struct Frame {
  Timestamp time = 0;
  uint32_t captured_length = 0;
  uint32_t wire_length = 0;
  int link_type = 0;
  const uint8_t* data = nullptr;  // valid until the next call to next()
};

// Compiles `expression` for Ethernet to find syntax errors before any file is read;
// sets `error` to libpcap's message when it does not compile.
bool check_bpf_filter(const std::string& expression, std::string* error);

class CaptureFile {
 public:
  enum class ReadStatus { kFrame, kEnd, kError };

  // Opens `path`; `bpf_filter` may be empty. On failure returns nullptr and sets
  // `error` to a message naming the file and what is wrong with it.
  static std::unique_ptr<CaptureFile> open(const std::string& path,
                                           const std::string& bpf_filter,
                                           std::string* error);
  virtual ~CaptureFile() = default;

  virtual ReadStatus next(Frame* frame) = 0;
  // After kError: "FILE: truncated record at byte offset N (…)".
  virtual const std::string& error() const = 0;
  // Bytes of the (uncompressed when known, else compressed) file consumed so far and
  // in total, for progress lines. `total_bytes` is 0 when unknown.
  virtual uint64_t bytes_consumed() const = 0;
  virtual uint64_t total_bytes() const = 0;
  // Frames the BPF filter rejected.
  virtual uint64_t frames_filtered() const = 0;
  // True when a frame's bytes stay where they are until the file is closed (a memory
  // map), not just until the next call to next().
  virtual bool frames_stay_valid() const { return false; }
  // With frames_stay_valid(): after hold_frames() the reader no longer lets go of the
  // pages behind it by itself; the caller tells it with release_before() which frames
  // (those that lie before `data`) it is done with.
  virtual void hold_frames() {}
  virtual void release_before(const uint8_t* /*data*/) {}
};

}  // namespace spamtap
