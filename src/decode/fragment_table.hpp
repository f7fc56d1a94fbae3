// FragmentTable: holds the pieces of fragmented IPv4 and IPv6 datagrams until each
// is whole. Memory is bounded by DecodeLimits (bytes held and datagrams held), and a
// datagram not completed within the timeout, measured in packet time, is dropped.
// Overlapping pieces must agree byte for byte; the first copy received wins.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "core/address.hpp"
#include "decode/anomaly.hpp"
#include "decode/decoder.hpp"

namespace spamtap::decode_detail {

struct FragmentKey {
  IpAddress source;
  IpAddress destination;
  uint32_t identification = 0;
  uint8_t protocol = 0;  // IPv4 only; IPv6 learns it from the first fragment
  bool is_v6 = false;

  friend bool operator==(const FragmentKey&, const FragmentKey&) = default;
};

struct Fragment {
  uint32_t offset = 0;  // in bytes within the fragmentable part
  const uint8_t* bytes = nullptr;
  uint32_t length = 0;
  bool more_fragments = false;
  // Only meaningful on the first fragment (offset 0):
  uint32_t header_length = 0;  // bytes before the fragmentable part
  uint8_t next_header = 0;     // protocol of the fragmentable part
};

struct Reassembled {
  uint32_t header_length = 0;  // of the first fragment
  uint8_t next_header = 0;
  // The fragmentable part, whole, is in the buffer passed to add().
};

class FragmentTable {
 public:
  enum class Outcome { kHeld, kComplete, kRejected };
  struct Result {
    Outcome outcome = Outcome::kHeld;
    Anomaly anomaly = Anomaly::kCount;  // set when kRejected
    Reassembled datagram;
  };

  explicit FragmentTable(const DecodeLimits& limits) : limits_(limits) {}

  // On kComplete, `assembled` holds the whole fragmentable part.
  Result add(const FragmentKey& key, Timestamp now, const Fragment& fragment,
             std::vector<uint8_t>* assembled);
  // Drops datagrams older than the timeout; returns how many were dropped.
  uint64_t expire(Timestamp now);

  size_t datagrams() const { return datagrams_.size(); }
  size_t bytes_held() const { return bytes_held_; }

 private:
  struct Datagram {
    FragmentKey key;
    Timestamp first_seen = 0;
    std::vector<uint8_t> data;
    std::vector<std::pair<uint32_t, uint32_t>> received;  // sorted, merged [begin, end)
    uint32_t total_length = 0;
    bool total_known = false;
    bool have_first = false;
    Reassembled first;
  };

  Datagram* find(const FragmentKey& key);
  void remove(size_t index);
  static bool overlap_differs(const Datagram& datagram, const Fragment& fragment);
  static void mark_received(Datagram* datagram, uint32_t begin, uint32_t end);

  DecodeLimits limits_;
  std::vector<Datagram> datagrams_;
  size_t bytes_held_ = 0;
  Timestamp oldest_ = 0;
};

}  // namespace spamtap::decode_detail
