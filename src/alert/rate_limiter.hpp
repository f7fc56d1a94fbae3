// RateLimiter: at most N alerts per (host, rule) in a window of capture time; the rest
// are suppressed and counted. The first alert let through after a suppression carries
// how many were held back, so the receiver still learns the volume. Capture time, not
// the wall clock, keeps the result the same however fast a file is read.
#pragma once

#include <cstdint>
#include <unordered_map>

#include "core/address.hpp"
#include "core/time.hpp"

namespace spamtap::alert {

struct RateLimit {
  uint32_t max_per_window = 10;  // 0 = no limit
  Timestamp window = seconds(60);
  size_t max_tracked = 100'000;  // (host, rule) pairs remembered at once
};

class RateLimiter {
 public:
  explicit RateLimiter(RateLimit limit) : limit_(limit) {}

  struct Decision {
    bool send = true;
    uint64_t suppressed_before = 0;  // suppressed for this key since the last one sent
  };
  Decision admit(const IpAddress& host, int rule, Timestamp time);

  uint64_t suppressed() const { return suppressed_; }
  // Alerts let through unlimited because the table of keys was full.
  uint64_t untracked() const { return untracked_; }
  size_t tracked() const { return entries_.size(); }

 private:
  struct Key {
    IpAddress host;
    int rule;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& key) const {
      return key.host.hash() ^ (static_cast<uint64_t>(key.rule) * 0x9E3779B97F4A7C15ull);
    }
  };
  struct Entry {
    Timestamp window_start = 0;
    uint32_t sent_in_window = 0;
    uint64_t suppressed_pending = 0;
  };

  // Forgets keys whose window ended before `time` with nothing left to report.
  void forget_expired(Timestamp time);

  RateLimit limit_;
  std::unordered_map<Key, Entry, KeyHash> entries_;
  uint64_t suppressed_ = 0;
  uint64_t untracked_ = 0;
  bool swept_ = false;
  Timestamp last_sweep_ = 0;
};

}  // namespace spamtap::alert
