#include "capture/capture_file.hpp"

#include <cstdio>
#include <cstring>

#include "capture/readers.hpp"

namespace spamtap {

using capture_detail::BpfFilter;
using capture_detail::InputStream;

namespace {

bool is_pcap_magic(const std::array<uint8_t, 4>& m) {
  // Microsecond and nanosecond magics in both byte orders, plus the modified
  // ("Kuznetzov") format libpcap also reads.
  static constexpr uint8_t kMagics[][4] = {
      {0xa1, 0xb2, 0xc3, 0xd4}, {0xd4, 0xc3, 0xb2, 0xa1}, {0xa1, 0xb2, 0x3c, 0x4d},
      {0x4d, 0x3c, 0xb2, 0xa1}, {0xa1, 0xb2, 0xcd, 0x34}, {0x34, 0xcd, 0xb2, 0xa1},
  };
  for (const auto& magic : kMagics) {
    if (std::memcmp(m.data(), magic, 4) == 0) return true;
  }
  return false;
}

bool is_pcapng_magic(const std::array<uint8_t, 4>& m) {
  static constexpr uint8_t kSectionHeader[4] = {0x0a, 0x0d, 0x0d, 0x0a};
  return std::memcmp(m.data(), kSectionHeader, 4) == 0;
}

std::string describe_first_bytes(const InputStream& input) {
  if (input.magic_size() == 0) return "the file is empty";
  std::string text = "first bytes";
  char hex[4];
  for (size_t i = 0; i < input.magic_size(); ++i) {
    std::snprintf(hex, sizeof hex, " %02x", input.magic()[i]);
    text += hex;
  }
  if (input.compression() != InputStream::Compression::kNone) text += " after decompression";
  return text;
}

}  // namespace

std::unique_ptr<CaptureFile> CaptureFile::open(const std::string& path,
                                               const std::string& bpf_filter,
                                               std::string* error) {
  std::string ignored;
  if (error == nullptr) error = &ignored;

  std::unique_ptr<InputStream> input = InputStream::open(path, error);
  if (input == nullptr) return nullptr;

  auto filter = std::make_unique<BpfFilter>(bpf_filter);

  if (input->magic_size() == 4 && is_pcap_magic(input->magic())) {
    if (input->compression() == InputStream::Compression::kNone) {
      bool failed = false;
      auto mapped = capture_detail::open_mapped_pcap(path, bpf_filter, &failed, error);
      if (mapped || failed) return mapped;
    }
    return capture_detail::open_pcap(path, std::move(input), std::move(filter), error);
  }
  if (input->magic_size() == 4 && is_pcapng_magic(input->magic())) {
    return capture_detail::open_pcapng(path, std::move(input), std::move(filter), error);
  }
  *error = path + ": not a pcap or pcapng capture (" + describe_first_bytes(*input) + ")";
  return nullptr;
}

namespace capture_detail {

std::string record_error(const std::string& path, uint64_t offset, const std::string& reason,
                         const InputStream& input) {
  std::string text = path + ": truncated or corrupt record at byte offset " +
                     std::to_string(offset) + ": " + reason;
  if (!input.decompression_error().empty()) text += " (" + input.decompression_error() + ")";
  return text;
}

}  // namespace capture_detail

bool check_bpf_filter(const std::string& expression, std::string* error) {
  if (expression.empty()) return true;
  capture_detail::BpfFilter filter(expression);
  return filter.prepare(link_type::kEthernet, error);
}

}  // namespace spamtap
