// Classic pcap, uncompressed, read through a memory map: frames are handed out where
// they lie in the page cache, with no read() copy and no stdio copy, which were most of
// the time of a whole-file analysis. Files this reader does not take (compressed, the
// modified "Kuznetzov" format, link types the decoder does not know, a header it
// doubts) go to the libpcap reader instead, so both agree on everything they share:
// timestamps in nanoseconds, a record longer than the snap length cut to it, and the
// same "truncated or corrupt record at byte offset N" errors.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>

#include "capture/readers.hpp"

namespace spamtap::capture_detail {

namespace {

constexpr size_t kFileHeaderLength = 24;
constexpr size_t kRecordHeaderLength = 16;
// Pages already read are dropped from the map every this many bytes, so the process
// does not hold a whole capture resident (they stay in the page cache).
constexpr uint64_t kReleaseStep = 8ull << 20;

uint32_t read32(const uint8_t* p, bool swapped) {
  uint32_t value;
  std::memcpy(&value, p, 4);
  return swapped ? __builtin_bswap32(value) : value;
}

uint16_t read16(const uint8_t* p, bool swapped) {
  uint16_t value;
  std::memcpy(&value, p, 2);
  return swapped ? __builtin_bswap16(value) : value;
}

// The link type as libpcap reports it (its DLT value) for the link types the decoder
// knows; -1 for the rest, which are left to libpcap.
int known_link_type(uint32_t linktype) {
  switch (linktype) {
    case 0:
    case 1:
    case 108:
    case 113:
    case 228:
    case 229:
    case 239:
    case 276: return static_cast<int>(linktype);
    case 101: return link_type::kRawAlt;  // LINKTYPE_RAW is DLT_RAW (12) on Linux
    default: return -1;
  }
}

// A file cut short by another process while it is mapped (a rotation by truncation)
// makes every access past its new end raise SIGBUS, in whichever thread touches it. The
// handler puts a page of zeros where the missing page was and marks the map as shrunk;
// the thread goes on reading zeros (harmless to a decoder built for hostile bytes), and
// the reader stops at its next record with an error, keeping what came before.
// LIMITATION: bytes past the cut but inside the page that holds it read as zeros without a
// fault, so a few empty frames (counted as decode anomalies) can come before the error.
struct MappedRange {
  std::atomic<uintptr_t> start{0};
  std::atomic<uintptr_t> end{0};
  std::atomic<bool> shrank{false};
};
constexpr size_t kMaxMaps = 64;
MappedRange g_maps[kMaxMaps];

void on_sigbus(int signal_number, siginfo_t* info, void*) {
  auto address = reinterpret_cast<uintptr_t>(info->si_addr);
  for (MappedRange& range : g_maps) {
    if (address < range.start.load() || address >= range.end.load()) continue;
    uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    void* at = reinterpret_cast<void*>(address & ~(page - 1));
    if (mmap(at, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
      range.shrank.store(true);
      return;
    }
  }
  ::signal(signal_number, SIG_DFL);
  ::raise(signal_number);
}

void install_sigbus_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    sigemptyset(&action.sa_mask);
    action.sa_sigaction = on_sigbus;
    action.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &action, nullptr);
  });
}

MappedRange* register_map(const uint8_t* map, size_t size) {
  for (MappedRange& range : g_maps) {
    uintptr_t expected = 0;
    if (range.start.compare_exchange_strong(expected, reinterpret_cast<uintptr_t>(map))) {
      range.shrank.store(false);
      range.end.store(reinterpret_cast<uintptr_t>(map) + size);
      return &range;
    }
  }
  return nullptr;  // more than kMaxMaps files open at once: no protection for this one
}

void unregister_map(MappedRange* range) {
  if (range == nullptr) return;
  range->end.store(0);
  range->start.store(0);
}

// Touches a byte so that a missing page faults now, before the shrink flag is read.
void touch(const uint8_t* byte) {
  [[maybe_unused]] volatile uint8_t value = *static_cast<const volatile uint8_t*>(byte);
}

class MappedPcapFile final : public CaptureFile {
 public:
  MappedPcapFile(std::string path, std::unique_ptr<BpfFilter> filter, int descriptor,
                 const uint8_t* map, size_t size)
      : path_(std::move(path)),
        filter_(std::move(filter)),
        descriptor_(descriptor),
        map_(map),
        size_(size),
        range_(register_map(map, size)) {}

  ~MappedPcapFile() override {
    unregister_map(range_);
    munmap(const_cast<uint8_t*>(map_), size_);
    ::close(descriptor_);
  }

  // False when the header is one this reader leaves to libpcap.
  bool read_header() {
    uint32_t magic;
    std::memcpy(&magic, map_, 4);
    switch (magic) {
      case 0xa1b2c3d4: break;
      case 0xd4c3b2a1: swapped_ = true; break;
      case 0xa1b23c4d: nanoseconds_ = true; break;
      case 0x4d3cb2a1: swapped_ = nanoseconds_ = true; break;
      default: return false;
    }
    if (read16(map_ + 4, swapped_) != 2 || read16(map_ + 6, swapped_) != 4) return false;
    snap_length_ = read32(map_ + 16, swapped_);
    if (snap_length_ == 0 || snap_length_ > kMaxCapturedLength) {
      snap_length_ = kMaxCapturedLength;
    }
    link_type_ = known_link_type(read32(map_ + 20, swapped_));
    return link_type_ >= 0;
  }

  bool prepare_filter(std::string* error) {
    std::string filter_error;
    if (!filter_->prepare(link_type_, &filter_error)) {
      *error = path_ + ": bad BPF filter \"" + filter_->expression() + "\": " + filter_error;
      return false;
    }
    return true;
  }

  ReadStatus next(Frame* frame) override {
    if (finished_) return error_.empty() ? ReadStatus::kEnd : ReadStatus::kError;
    for (;;) {
      size_t left = size_ - offset_;
      if (left == 0) {
        finished_ = true;
        return ReadStatus::kEnd;
      }
      if (left < kRecordHeaderLength) {
        return fail("truncated dump file; tried to read 16 header bytes, only got " +
                    std::to_string(left));
      }
      const uint8_t* header = map_ + offset_;
      touch(header + kRecordHeaderLength - 1);
      if (range_ && range_->shrank.load()) return shrank();
      uint32_t seconds = read32(header, swapped_);
      uint32_t fraction = read32(header + 4, swapped_);
      uint32_t captured = read32(header + 8, swapped_);
      uint32_t wire = read32(header + 12, swapped_);
      if (captured > kMaxCapturedLength) {
        return fail("captured length " + std::to_string(captured) + " is larger than the maximum " +
                    std::to_string(kMaxCapturedLength));
      }
      if (left - kRecordHeaderLength < captured) {
        return fail("truncated dump file; tried to read " + std::to_string(captured) +
                    " captured bytes, only got " + std::to_string(left - kRecordHeaderLength));
      }
      const uint8_t* data = header + kRecordHeaderLength;
      if (captured > 0) touch(data + captured - 1);
      if (range_ && range_->shrank.load()) return shrank();
      offset_ += kRecordHeaderLength + captured;
      // The next record header is a cache miss away (the reader skips the payloads in
      // between); ask for it now, while this frame is analyzed.
      if (offset_ < size_) __builtin_prefetch(map_ + offset_);
      release_behind();
      // A record longer than the snap length is accepted and cut to it, as libpcap does.
      // LIMITATION: the bytes past the snap length are not analyzed.
      uint32_t kept = captured > snap_length_ ? snap_length_ : captured;

      if (!filter_->matches(link_type_, data, kept, wire)) {
        ++frames_filtered_;
        continue;
      }
      frame->time =
          frame_time(seconds, static_cast<uint64_t>(fraction) * (nanoseconds_ ? 1 : 1000));
      frame->captured_length = kept;
      frame->wire_length = wire;
      frame->link_type = link_type_;
      frame->data = data;
      return ReadStatus::kFrame;
    }
  }

  const std::string& error() const override { return error_; }
  uint64_t bytes_consumed() const override { return offset_; }
  uint64_t total_bytes() const override { return size_; }
  uint64_t frames_filtered() const override { return frames_filtered_; }
  // Pages dropped behind the reader are read again from the page cache if touched.
  bool frames_stay_valid() const override { return true; }
  void hold_frames() override { held_ = true; }
  void release_before(const uint8_t* data) override {
    if (data > map_ && data <= map_ + size_) release_to(static_cast<uint64_t>(data - map_));
  }

 private:
  void release_behind() {
    if (!held_) release_to(offset_);
  }

  // Drops the whole pages before `offset` from the map, in steps of kReleaseStep.
  void release_to(uint64_t offset) {
    if (offset < released_ + kReleaseStep) return;
    uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    uint64_t end = (offset / page) * page;  // the page `offset` is in stays
    if (end > released_) {
      madvise(const_cast<uint8_t*>(map_) + released_, end - released_, MADV_DONTNEED);
      released_ = end;
    }
  }

  ReadStatus shrank() { return fail("the file became shorter while it was being read"); }

  ReadStatus fail(const std::string& reason) {
    finished_ = true;
    error_ = path_ + ": truncated or corrupt record at byte offset " + std::to_string(offset_) +
             ": " + reason;
    return ReadStatus::kError;
  }

  std::string path_;
  std::unique_ptr<BpfFilter> filter_;
  int descriptor_;
  const uint8_t* map_;
  size_t size_;
  MappedRange* range_;
  size_t offset_ = kFileHeaderLength;
  uint64_t released_ = 0;
  bool held_ = false;
  bool swapped_ = false;
  bool nanoseconds_ = false;
  uint32_t snap_length_ = kMaxCapturedLength;
  int link_type_ = -1;
  uint64_t frames_filtered_ = 0;
  bool finished_ = false;
  std::string error_;
};

}  // namespace

std::unique_ptr<CaptureFile> open_mapped_pcap(const std::string& path,
                                              const std::string& bpf_filter, bool* failed,
                                              std::string* error) {
  *failed = false;
  int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (descriptor < 0) return nullptr;
  struct stat status {};
  if (fstat(descriptor, &status) != 0 || !S_ISREG(status.st_mode) ||
      status.st_size < static_cast<off_t>(kFileHeaderLength)) {
    ::close(descriptor);
    return nullptr;
  }
  size_t size = static_cast<size_t>(status.st_size);
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, descriptor, 0);
  if (map == MAP_FAILED) {
    ::close(descriptor);
    return nullptr;
  }
  madvise(map, size, MADV_SEQUENTIAL);
  install_sigbus_handler();
  auto file = std::make_unique<MappedPcapFile>(path, std::make_unique<BpfFilter>(bpf_filter),
                                               descriptor, static_cast<const uint8_t*>(map), size);
  if (!file->read_header()) return nullptr;
  if (!file->prepare_filter(error)) {
    *failed = true;
    return nullptr;
  }
  return file;
}

}  // namespace spamtap::capture_detail
