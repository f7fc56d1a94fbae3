#include "synth/pcap_writer.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace spamtap::synth {

namespace {

constexpr uint32_t kMagicMicroseconds = 0xa1b2c3d4;
constexpr uint32_t kMagicNanoseconds = 0xa1b23c4d;
constexpr uint32_t kLinkTypeEthernet = 1;
constexpr uint32_t kSnapLength = 262144;

// pcap files carry fields in the writer's byte order; we always write
// little-endian.
void put_le32(uint8_t *out, uint32_t value) {
  out[0] = static_cast<uint8_t>(value);
  out[1] = static_cast<uint8_t>(value >> 8);
  out[2] = static_cast<uint8_t>(value >> 16);
  out[3] = static_cast<uint8_t>(value >> 24);
}

void put_le16(uint8_t *out, uint16_t value) {
  out[0] = static_cast<uint8_t>(value);
  out[1] = static_cast<uint8_t>(value >> 8);
}

}  // namespace

PcapWriter::PcapWriter(const std::string &path, TimestampPrecision precision, size_t buffer_bytes)
    : path_(path), precision_(precision), buffer_(std::max<size_t>(buffer_bytes, 1u << 16)) {
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) {
    throw std::runtime_error("cannot create capture file " + path + ": " + std::strerror(errno));
  }
  std::setvbuf(file_, nullptr, _IONBF, 0);  // our own buffer is the only one

  uint8_t *header = buffer_.data();
  put_le32(header,
           precision == TimestampPrecision::kNanoseconds ? kMagicNanoseconds : kMagicMicroseconds);
  put_le16(header + 4, 2);
  put_le16(header + 6, 4);
  put_le32(header + 8, 0);
  put_le32(header + 12, 0);
  put_le32(header + 16, kSnapLength);
  put_le32(header + 20, kLinkTypeEthernet);
  used_ = 24;
  file_bytes_ = 24;
}

PcapWriter::~PcapWriter() {
  if (file_ == nullptr) return;
  try {
    close();
  } catch (...) {
    // A destructor cannot report; close() is the way to see the error.
  }
}

uint8_t *PcapWriter::begin_frame(size_t max_length) {
  if (used_ + kRecordHeaderLength + max_length > buffer_.size()) drain();
  return buffer_.data() + used_ + kRecordHeaderLength;
}

void PcapWriter::commit_frame(Timestamp time, size_t length) {
  uint8_t *record = buffer_.data() + used_;
  const auto seconds_part = static_cast<uint32_t>(time / kNanosPerSecond);
  const auto nanos_part = static_cast<uint32_t>(time % kNanosPerSecond);
  put_le32(record, seconds_part);
  put_le32(record + 4,
           precision_ == TimestampPrecision::kNanoseconds ? nanos_part : nanos_part / 1000);
  put_le32(record + 8, static_cast<uint32_t>(length));
  put_le32(record + 12, static_cast<uint32_t>(length));
  used_ += kRecordHeaderLength + length;
  file_bytes_ += kRecordHeaderLength + length;
  ++packets_;
}

void PcapWriter::drain() {
  if (used_ == 0) return;
  if (std::fwrite(buffer_.data(), 1, used_, file_) != used_) {
    throw std::runtime_error("cannot write capture file " + path_ + ": " + std::strerror(errno));
  }
  used_ = 0;
}

void PcapWriter::close() {
  if (file_ == nullptr) return;
  try {
    drain();
  } catch (...) {
    std::fclose(file_);
    file_ = nullptr;
    throw;
  }
  const int status = std::fclose(file_);
  file_ = nullptr;
  if (status != 0) {
    throw std::runtime_error("cannot finish capture file " + path_ + ": " + std::strerror(errno));
  }
}

}  // namespace spamtap::synth
