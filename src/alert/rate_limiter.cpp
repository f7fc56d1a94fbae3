#include "alert/rate_limiter.hpp"

namespace spamtap::alert {

RateLimiter::Decision RateLimiter::admit(const IpAddress& host, int rule, Timestamp time) {
  if (limit_.max_per_window == 0) return {};

  Key key{host, rule};
  auto found = entries_.find(key);
  if (found == entries_.end()) {
    // A full table is swept at most once per window, so a flood of new keys does not
    // turn every alert into a scan of the table.
    bool sweep_due = !swept_ || time - last_sweep_ >= limit_.window;
    if (entries_.size() >= limit_.max_tracked && sweep_due) {
      forget_expired(time);
      swept_ = true;
      last_sweep_ = time;
    }
    if (entries_.size() >= limit_.max_tracked) {
      untracked_++;
      return {};
    }
    found = entries_.emplace(key, Entry{time, 0, 0}).first;
  }

  Entry& entry = found->second;
  // Times that run backwards (several files, reordered packets) stay in the window.
  if (time - entry.window_start >= limit_.window) {
    entry.window_start = time;
    entry.sent_in_window = 0;
  }
  if (entry.sent_in_window >= limit_.max_per_window) {
    entry.suppressed_pending++;
    suppressed_++;
    return {false, 0};
  }
  entry.sent_in_window++;
  Decision decision{true, entry.suppressed_pending};
  entry.suppressed_pending = 0;
  return decision;
}

void RateLimiter::forget_expired(Timestamp time) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    bool expired = time - it->second.window_start >= limit_.window;
    // A key with suppressed alerts not yet reported is kept so the count is not lost.
    if (expired && it->second.suppressed_pending == 0) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace spamtap::alert
