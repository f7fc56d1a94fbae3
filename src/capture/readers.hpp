// The two concrete capture readers behind CaptureFile::open: classic pcap through
// libpcap, and pcapng through spamtap's own bounded block reader (libpcap refuses
// pcapng files whose interfaces have different link types).
#pragma once

#include <memory>
#include <string>

#include "capture/bpf_filter.hpp"
#include "capture/capture_file.hpp"
#include "capture/input_stream.hpp"

namespace spamtap::capture_detail {

// Largest captured length accepted for one frame, as libpcap and tshark do.
constexpr uint32_t kMaxCapturedLength = 262144;

// A record's time from its seconds and its fraction in nanoseconds. A fraction of a
// second or more is invalid (some writers store garbage there); it is taken as 0, which
// is also where Wireshark's reading of such records lands.
inline Timestamp frame_time(uint32_t seconds, uint64_t nanoseconds) {
  if (nanoseconds >= static_cast<uint64_t>(kNanosPerSecond)) nanoseconds = 0;
  return static_cast<Timestamp>(seconds) * kNanosPerSecond + static_cast<Timestamp>(nanoseconds);
}

std::unique_ptr<CaptureFile> open_pcap(const std::string& path,
                                       std::unique_ptr<InputStream> input,
                                       std::unique_ptr<BpfFilter> filter, std::string* error);

// Uncompressed classic pcap through a memory map. Returns nullptr with `*failed` false
// when the file is not one it takes (then libpcap reads it), with `*failed` true and
// `error` set when it is but cannot be read (a bad filter).
std::unique_ptr<CaptureFile> open_mapped_pcap(const std::string& path,
                                              const std::string& bpf_filter, bool* failed,
                                              std::string* error);

std::unique_ptr<CaptureFile> open_pcapng(const std::string& path,
                                         std::unique_ptr<InputStream> input,
                                         std::unique_ptr<BpfFilter> filter,
                                         std::string* error);

// "FILE: truncated or corrupt record at byte offset N: reason", plus what the
// decompressor reported, if anything.
std::string record_error(const std::string& path, uint64_t offset, const std::string& reason,
                         const InputStream& input);

}  // namespace spamtap::capture_detail
