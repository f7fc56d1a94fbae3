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

std::unique_ptr<CaptureFile> open_pcap(const std::string& path,
                                       std::unique_ptr<InputStream> input,
                                       std::unique_ptr<BpfFilter> filter, std::string* error);

std::unique_ptr<CaptureFile> open_pcapng(const std::string& path,
                                         std::unique_ptr<InputStream> input,
                                         std::unique_ptr<BpfFilter> filter,
                                         std::string* error);

// "FILE: truncated or corrupt record at byte offset N: reason", plus what the
// decompressor reported, if anything.
std::string record_error(const std::string& path, uint64_t offset, const std::string& reason,
                         const InputStream& input);

}  // namespace spamtap::capture_detail
