// pcapng block reader. Reads one block at a time into a buffer that is reused, with
// every length checked against the block and the block against a cap. Handles
// sections in either byte order, interfaces with their own link type, snap length,
// timestamp resolution and offset, and the three packet blocks (enhanced, simple,
// obsolete). Other block types are skipped without being buffered.
#include <cstdio>
#include <cstring>
#include <vector>

#include "capture/readers.hpp"

namespace spamtap::capture_detail {

namespace {

constexpr uint32_t kSectionHeaderBlock = 0x0A0D0D0A;
constexpr uint32_t kInterfaceDescriptionBlock = 1;
constexpr uint32_t kObsoletePacketBlock = 2;
constexpr uint32_t kSimplePacketBlock = 3;
constexpr uint32_t kEnhancedPacketBlock = 6;
constexpr uint32_t kByteOrderMagic = 0x1A2B3C4D;

constexpr uint16_t kOptionEnd = 0;
constexpr uint16_t kOptionTimestampResolution = 9;
constexpr uint16_t kOptionTimestampOffset = 14;

// Blocks read into memory are capped; a packet block needs the largest frame plus
// its headers and room for options.
constexpr uint32_t kMaxBufferedBlockLength = kMaxCapturedLength + 64 * 1024;
constexpr size_t kMaxInterfaces = 65536;

uint32_t swap32(uint32_t v) { return __builtin_bswap32(v); }

struct Interface {
  int link_type = 0;
  uint32_t snap_length = 0;  // 0: no limit
  uint8_t timestamp_resolution = 6;
  int64_t timestamp_offset_seconds = 0;
};

Timestamp to_nanoseconds(uint64_t units, const Interface& interface) {
  using Wide = unsigned __int128;
  Wide nanos = 0;
  uint8_t resolution = interface.timestamp_resolution;
  if (resolution & 0x80) {
    unsigned shift = resolution & 0x7f;
    if (shift > 100) shift = 100;
    nanos = (static_cast<Wide>(units) * kNanosPerSecond) >> shift;
  } else if (resolution <= 9) {
    Wide scale = 1;
    for (unsigned i = resolution; i < 9; ++i) scale *= 10;
    nanos = static_cast<Wide>(units) * scale;
  } else {
    Wide scale = 1;
    for (unsigned i = 9; i < resolution && scale <= units; ++i) scale *= 10;
    nanos = static_cast<Wide>(units) / scale;
  }
  nanos += static_cast<Wide>(interface.timestamp_offset_seconds * kNanosPerSecond);
  constexpr Wide kMax = static_cast<Wide>(INT64_MAX);
  return static_cast<Timestamp>(nanos > kMax ? kMax : nanos);
}

class PcapngFile final : public CaptureFile {
 public:
  PcapngFile(std::string path, std::unique_ptr<InputStream> input,
             std::unique_ptr<BpfFilter> filter)
      : path_(std::move(path)), input_(std::move(input)), filter_(std::move(filter)) {
    block_.reserve(64 * 1024);
  }

  bool open(std::string* error) {
    // The expression is checked here so that a typo fails at open; it is compiled
    // again for each link type the interfaces declare.
    std::string filter_error;
    if (!filter_->prepare(1, &filter_error)) {
      *error = path_ + ": bad BPF filter \"" + filter_->expression() + "\": " + filter_error;
      return false;
    }
    return true;
  }

  ReadStatus next(Frame* frame) override {
    if (finished_) return error_.empty() ? ReadStatus::kEnd : ReadStatus::kError;

    for (;;) {
      block_start_ = position_;
      uint8_t head[8];
      size_t got = read(head, sizeof head);
      if (got == 0) return finish_at_end();
      if (got < sizeof head) return fail("block header cut short");

      uint32_t type = load32(head);
      if (type == kSectionHeaderBlock) {
        if (!read_section_header(head)) return ReadStatus::kError;
        continue;
      }
      if (!in_section_) return fail("block before the section header");

      uint32_t length = load32(head + 4);
      if (length < 12 || length % 4 != 0) {
        return fail("block length " + std::to_string(length) + " is invalid");
      }
      bool wanted = type == kInterfaceDescriptionBlock || type == kEnhancedPacketBlock ||
                    type == kSimplePacketBlock || type == kObsoletePacketBlock;
      if (!wanted) {
        if (!skip(length - 8)) return fail("block cut short");
        continue;
      }
      if (!read_body(length)) return ReadStatus::kError;

      const uint8_t* body = block_.data();
      size_t body_length = length - 12;
      bool have_frame = false;
      bool ok = true;
      switch (type) {
        case kInterfaceDescriptionBlock:
          ok = read_interface(body, body_length);
          break;
        case kEnhancedPacketBlock:
          ok = read_enhanced_packet(body, body_length, frame);
          have_frame = ok;
          break;
        case kSimplePacketBlock:
          ok = read_simple_packet(body, body_length, frame);
          have_frame = ok;
          break;
        case kObsoletePacketBlock:
          ok = read_obsolete_packet(body, body_length, frame);
          have_frame = ok;
          break;
        default:
          break;
      }
      if (!ok) return ReadStatus::kError;
      if (!have_frame) continue;

      std::string filter_error;
      if (!filter_->prepare(frame->link_type, &filter_error)) {
        return fail_plain(path_ + ": BPF filter \"" + filter_->expression() +
                          "\" cannot be used on link type " + std::to_string(frame->link_type) +
                          ": " + filter_error);
      }
      if (!filter_->matches(frame->link_type, frame->data, frame->captured_length,
                            frame->wire_length)) {
        ++frames_filtered_;
        continue;
      }
      return ReadStatus::kFrame;
    }
  }

  const std::string& error() const override { return error_; }
  uint64_t bytes_consumed() const override {
    if (input_->compression() != InputStream::Compression::kNone) {
      return input_->compressed_consumed();
    }
    return position_;
  }
  uint64_t total_bytes() const override { return input_->file_size(); }
  uint64_t frames_filtered() const override { return frames_filtered_; }

 private:
  uint32_t load32(const uint8_t* p) const {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return swapped_ ? swap32(v) : v;
  }
  uint16_t load16(const uint8_t* p) const {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return swapped_ ? __builtin_bswap16(v) : v;
  }

  size_t read(void* buffer, size_t size) {
    size_t got = std::fread(buffer, 1, size, input_->stream());
    position_ += got;
    return got;
  }

  bool skip(uint64_t size) {
    uint8_t scratch[4096];
    while (size > 0) {
      size_t chunk = size < sizeof scratch ? static_cast<size_t>(size) : sizeof scratch;
      if (read(scratch, chunk) != chunk) return false;
      size -= chunk;
    }
    return true;
  }

  // Reads the rest of a block of `length` bytes whose first 8 bytes are consumed;
  // leaves the body (without the trailing length) at the start of block_.
  bool read_body(uint32_t length) {
    if (length > kMaxBufferedBlockLength) {
      return reject("block length " + std::to_string(length) +
                    " is larger than the maximum " + std::to_string(kMaxBufferedBlockLength));
    }
    block_.resize(length - 8);
    if (read(block_.data(), block_.size()) != block_.size()) {
      return reject("block cut short");
    }
    if (load32(block_.data() + block_.size() - 4) != length) {
      return reject("block's trailing length does not match its leading length");
    }
    return true;
  }

  bool read_section_header(const uint8_t* head) {
    uint8_t magic[4];
    if (read(magic, 4) != 4) {
      return reject("section header cut short");
    }
    uint32_t order;
    std::memcpy(&order, magic, 4);
    if (order == kByteOrderMagic) {
      swapped_ = false;
    } else if (swap32(order) == kByteOrderMagic) {
      swapped_ = true;
    } else {
      return reject("section header has an unknown byte-order magic");
    }
    uint32_t length = load32(head + 4);
    if (length < 28 || length % 4 != 0 || length > kMaxBufferedBlockLength) {
      return reject("section header length " + std::to_string(length) + " is invalid");
    }
    block_.resize(length - 12);
    if (read(block_.data(), block_.size()) != block_.size()) {
      return reject("section header cut short");
    }
    if (load32(block_.data() + block_.size() - 4) != length) {
      return reject("section header's trailing length does not match its leading length");
    }
    uint16_t major = load16(block_.data());
    if (major != 1) {
      return reject("unsupported pcapng version " + std::to_string(major));
    }
    interfaces_.clear();
    in_section_ = true;
    return true;
  }

  bool read_interface(const uint8_t* body, size_t length) {
    if (length < 8) return reject("interface description too short");
    if (interfaces_.size() >= kMaxInterfaces) return reject("too many interfaces");
    Interface interface;
    interface.link_type = load16(body);
    interface.snap_length = load32(body + 4);

    // Options: code, length, value padded to 4 bytes.
    size_t at = 8;
    while (at + 4 <= length) {
      uint16_t code = load16(body + at);
      uint16_t value_length = load16(body + at + 2);
      at += 4;
      if (code == kOptionEnd) break;
      if (value_length > length - at) return reject("interface option overruns block");
      const uint8_t* value = body + at;
      if (code == kOptionTimestampResolution && value_length == 1) {
        interface.timestamp_resolution = value[0];
      } else if (code == kOptionTimestampOffset && value_length == 8) {
        uint64_t raw;
        std::memcpy(&raw, value, 8);
        if (swapped_) raw = __builtin_bswap64(raw);
        interface.timestamp_offset_seconds = static_cast<int64_t>(raw);
      }
      at += (static_cast<size_t>(value_length) + 3) & ~size_t{3};
    }
    interfaces_.push_back(interface);
    return true;
  }

  bool check_frame(uint32_t captured, size_t room) {
    if (captured > room) return reject("captured length overruns its block");
    if (captured > kMaxCapturedLength) {
      return reject("captured length " + std::to_string(captured) +
                    " is larger than the maximum " + std::to_string(kMaxCapturedLength));
    }
    // A frame longer than the interface's snap length is accepted, as libpcap and
    // tshark accept it; every byte of it is in the block.
    return true;
  }

  const Interface* interface_at(uint32_t index) {
    if (index >= interfaces_.size()) {
      fail("packet names interface " + std::to_string(index) + ", which was not described");
      return nullptr;
    }
    return &interfaces_[index];
  }

  void fill(Frame* frame, const Interface& interface, Timestamp time, const uint8_t* data,
            uint32_t captured, uint32_t wire) {
    frame->time = time;
    frame->captured_length = captured;
    frame->wire_length = wire;
    frame->link_type = interface.link_type;
    frame->data = data;
    last_time_ = time;
  }

  bool read_enhanced_packet(const uint8_t* body, size_t length, Frame* frame) {
    if (length < 20) return reject("enhanced packet block too short");
    const Interface* interface = interface_at(load32(body));
    if (interface == nullptr) return false;
    uint64_t units = (static_cast<uint64_t>(load32(body + 4)) << 32) | load32(body + 8);
    uint32_t captured = load32(body + 12);
    uint32_t wire = load32(body + 16);
    if (!check_frame(captured, length - 20)) return false;
    fill(frame, *interface, to_nanoseconds(units, *interface), body + 20, captured, wire);
    return true;
  }

  // A simple packet has no timestamp; it inherits the previous frame's time.
  bool read_simple_packet(const uint8_t* body, size_t length, Frame* frame) {
    if (length < 4) return reject("simple packet block too short");
    const Interface* interface = interface_at(0);
    if (interface == nullptr) return false;
    uint32_t wire = load32(body);
    uint32_t captured = wire;
    if (captured > length - 4) captured = static_cast<uint32_t>(length - 4);
    if (interface->snap_length != 0 && captured > interface->snap_length) {
      captured = interface->snap_length;  // the block may be padded past the frame
    }
    if (!check_frame(captured, length - 4)) return false;
    fill(frame, *interface, last_time_, body + 4, captured, wire);
    return true;
  }

  bool read_obsolete_packet(const uint8_t* body, size_t length, Frame* frame) {
    if (length < 20) return reject("packet block too short");
    const Interface* interface = interface_at(load16(body));
    if (interface == nullptr) return false;
    uint64_t units = (static_cast<uint64_t>(load32(body + 4)) << 32) | load32(body + 8);
    uint32_t captured = load32(body + 12);
    uint32_t wire = load32(body + 16);
    if (!check_frame(captured, length - 20)) return false;
    fill(frame, *interface, to_nanoseconds(units, *interface), body + 20, captured, wire);
    return true;
  }

  ReadStatus finish_at_end() {
    finished_ = true;
    if (!input_->decompression_error().empty()) {
      error_ = record_error(path_, block_start_, "compressed data ends early", *input_);
      return ReadStatus::kError;
    }
    return ReadStatus::kEnd;
  }

  ReadStatus fail(const std::string& reason) {
    return fail_plain(record_error(path_, block_start_, reason, *input_));
  }

  bool reject(const std::string& reason) {
    fail(reason);
    return false;
  }

  ReadStatus fail_plain(std::string message) {
    finished_ = true;
    error_ = std::move(message);
    return ReadStatus::kError;
  }

  std::string path_;
  std::unique_ptr<InputStream> input_;
  std::unique_ptr<BpfFilter> filter_;
  std::vector<uint8_t> block_;
  std::vector<Interface> interfaces_;
  bool swapped_ = false;
  bool in_section_ = false;
  uint64_t position_ = 0;
  uint64_t block_start_ = 0;
  Timestamp last_time_ = 0;
  uint64_t frames_filtered_ = 0;
  bool finished_ = false;
  std::string error_;
};

}  // namespace

std::unique_ptr<CaptureFile> open_pcapng(const std::string& path,
                                         std::unique_ptr<InputStream> input,
                                         std::unique_ptr<BpfFilter> filter,
                                         std::string* error) {
  auto file = std::make_unique<PcapngFile>(path, std::move(input), std::move(filter));
  if (!file->open(error)) return nullptr;
  return file;
}

}  // namespace spamtap::capture_detail
