// Classic pcap through libpcap. The filter is applied here with pcap_offline_filter
// rather than installed in libpcap, so that every record passes through next() and
// the byte position of each record is known (ftell on the FILE libpcap reads).
#include <pcap/pcap.h>

#include <cstdio>

#include "capture/readers.hpp"

namespace spamtap::capture_detail {

namespace {

class PcapFile final : public CaptureFile {
 public:
  PcapFile(std::string path, std::unique_ptr<InputStream> input,
           std::unique_ptr<BpfFilter> filter)
      : path_(std::move(path)), input_(std::move(input)), filter_(std::move(filter)) {}

  ~PcapFile() override {
    if (handle_ != nullptr) pcap_close(handle_);  // closes the stream it was given
  }

  bool open(std::string* error) {
    char message[PCAP_ERRBUF_SIZE] = {};
    handle_ = pcap_fopen_offline_with_tstamp_precision(input_->stream(),
                                                       PCAP_TSTAMP_PRECISION_NANO, message);
    if (handle_ == nullptr) {
      *error = path_ + ": cannot read pcap header: " + message;
      return false;
    }
    input_->give_up_stream_ownership();
    link_type_ = pcap_datalink(handle_);

    std::string filter_error;
    if (!filter_->prepare(link_type_, &filter_error)) {
      *error = path_ + ": bad BPF filter \"" + filter_->expression() + "\": " + filter_error;
      return false;
    }
    record_start_ = position();
    return true;
  }

  ReadStatus next(Frame* frame) override {
    if (finished_) return error_.empty() ? ReadStatus::kEnd : ReadStatus::kError;

    for (;;) {
      pcap_pkthdr* header = nullptr;
      const u_char* data = nullptr;
      int result = pcap_next_ex(handle_, &header, &data);
      if (result == PCAP_ERROR_BREAK) return finish_at_end();
      if (result != 1) return fail(pcap_geterr(handle_));

      // A record longer than the file's snap length is accepted, as libpcap and tshark
      // accept it: some writers put a wrong snap length in the header.
      // LIMITATION: libpcap keeps only the first snap-length bytes of such a record
      // (the frame arrives shorter, with its true wire length), and the rest is lost.
      uint64_t end = position();
      if (header->caplen > kMaxCapturedLength) {
        return fail("captured length " + std::to_string(header->caplen) +
                    " is larger than the maximum " + std::to_string(kMaxCapturedLength));
      }
      record_start_ = end;

      if (!filter_->matches(link_type_, data, header->caplen, header->len)) {
        ++frames_filtered_;
        continue;
      }
      frame->time = frame_time(static_cast<uint32_t>(header->ts.tv_sec),
                               static_cast<uint64_t>(header->ts.tv_usec));
      frame->captured_length = header->caplen;
      frame->wire_length = header->len;
      frame->link_type = link_type_;
      frame->data = data;
      return ReadStatus::kFrame;
    }
  }

  const std::string& error() const override { return error_; }

  uint64_t bytes_consumed() const override {
    if (input_->compression() != InputStream::Compression::kNone) {
      return input_->compressed_consumed();
    }
    return record_start_;
  }
  uint64_t total_bytes() const override { return input_->file_size(); }
  uint64_t frames_filtered() const override { return frames_filtered_; }

 private:
  uint64_t position() const {
    long offset = std::ftell(pcap_file(handle_));
    return offset < 0 ? record_start_ : static_cast<uint64_t>(offset);
  }

  ReadStatus finish_at_end() {
    finished_ = true;
    if (!input_->decompression_error().empty()) {
      error_ = record_error(path_, record_start_, "compressed data ends early", *input_);
      return ReadStatus::kError;
    }
    return ReadStatus::kEnd;
  }

  ReadStatus fail(const std::string& reason) {
    finished_ = true;
    error_ = record_error(path_, record_start_, reason, *input_);
    return ReadStatus::kError;
  }

  std::string path_;
  std::unique_ptr<InputStream> input_;  // outlives handle_, which reads its stream
  std::unique_ptr<BpfFilter> filter_;
  pcap_t* handle_ = nullptr;
  int link_type_ = 0;
  uint64_t record_start_ = 0;
  uint64_t frames_filtered_ = 0;
  bool finished_ = false;
  std::string error_;
};

}  // namespace

std::unique_ptr<CaptureFile> open_pcap(const std::string& path,
                                       std::unique_ptr<InputStream> input,
                                       std::unique_ptr<BpfFilter> filter, std::string* error) {
  auto file = std::make_unique<PcapFile>(path, std::move(input), std::move(filter));
  if (!file->open(error)) return nullptr;
  return file;
}

}  // namespace spamtap::capture_detail
