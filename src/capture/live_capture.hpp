// LiveCapture: frames from a network interface through libpcap, in the same Frame form
// the file readers give. The capture is opened (which needs the privilege to capture)
// before anything else, so the caller can drop root right after.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "capture/capture_file.hpp"

struct pcap;

namespace spamtap {

struct LiveCaptureStats {
  uint64_t received = 0;           // frames libpcap handed over
  uint64_t dropped_by_kernel = 0;  // no room in the capture buffer
  uint64_t dropped_by_interface = 0;
};

class LiveCapture {
 public:
  // On failure returns nullptr and sets `error` (no such interface, no permission, a
  // filter that does not compile, ...).
  static std::unique_ptr<LiveCapture> open(const std::string& interface,
                                           const std::string& bpf_filter, std::string* error);
  ~LiveCapture();
  LiveCapture(const LiveCapture&) = delete;
  LiveCapture& operator=(const LiveCapture&) = delete;

  enum class Status { kFrame, kTimeout, kError };
  // Waits at most a fraction of a second for the next frame; `frame` is valid until the
  // next call.
  Status next(Frame* frame);
  const std::string& error() const { return error_; }
  LiveCaptureStats stats() const;
  // Makes a waiting next() return (safe from a signal handler).
  void interrupt();

 private:
  LiveCapture() = default;
  struct pcap* handle_ = nullptr;
  int link_type_ = 0;
  std::string error_;
};

}  // namespace spamtap
