#include "capture/live_capture.hpp"

#include <pcap/pcap.h>

namespace spamtap {

namespace {

constexpr int kSnapLength = 262144;
constexpr int kTimeoutMilliseconds = 200;  // how long next() waits at most
constexpr int kBufferBytes = 64 * 1024 * 1024;

}  // namespace

std::unique_ptr<LiveCapture> LiveCapture::open(const std::string& interface,
                                               const std::string& bpf_filter, std::string* error) {
  char message[PCAP_ERRBUF_SIZE] = {};
  std::unique_ptr<LiveCapture> capture(new LiveCapture);
  capture->handle_ = pcap_create(interface.c_str(), message);
  if (capture->handle_ == nullptr) {
    *error = interface + ": " + message;
    return nullptr;
  }
  pcap_set_snaplen(capture->handle_, kSnapLength);
  pcap_set_promisc(capture->handle_, 1);
  pcap_set_timeout(capture->handle_, kTimeoutMilliseconds);
  pcap_set_buffer_size(capture->handle_, kBufferBytes);
  pcap_set_tstamp_precision(capture->handle_, PCAP_TSTAMP_PRECISION_NANO);
  int status = pcap_activate(capture->handle_);
  if (status < 0) {
    *error = interface + ": " + pcap_geterr(capture->handle_);
    return nullptr;
  }
  capture->link_type_ = pcap_datalink(capture->handle_);
  if (!bpf_filter.empty()) {
    bpf_program program{};
    if (pcap_compile(capture->handle_, &program, bpf_filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) !=
        0) {
      *error = "bad BPF filter \"" + bpf_filter + "\": " + pcap_geterr(capture->handle_);
      return nullptr;
    }
    int set = pcap_setfilter(capture->handle_, &program);
    pcap_freecode(&program);
    if (set != 0) {
      *error = interface + ": " + pcap_geterr(capture->handle_);
      return nullptr;
    }
  }
  return capture;
}

LiveCapture::~LiveCapture() {
  if (handle_ != nullptr) pcap_close(handle_);
}

LiveCapture::Status LiveCapture::next(Frame* frame) {
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  int result = pcap_next_ex(handle_, &header, &data);
  if (result == 0 || result == PCAP_ERROR_BREAK) return Status::kTimeout;
  if (result != 1) {
    error_ = pcap_geterr(handle_);
    return Status::kError;
  }
  frame->time = static_cast<Timestamp>(header->ts.tv_sec) * kNanosPerSecond +
                static_cast<Timestamp>(header->ts.tv_usec);
  frame->captured_length = header->caplen;
  frame->wire_length = header->len;
  frame->link_type = link_type_;
  frame->data = data;
  return Status::kFrame;
}

LiveCaptureStats LiveCapture::stats() const {
  LiveCaptureStats stats;
  pcap_stat raw{};
  if (pcap_stats(handle_, &raw) == 0) {
    stats.received = raw.ps_recv;
    stats.dropped_by_kernel = raw.ps_drop;
    stats.dropped_by_interface = raw.ps_ifdrop;
  }
  return stats;
}

void LiveCapture::interrupt() {
  pcap_breakloop(handle_);
}

}  // namespace spamtap
