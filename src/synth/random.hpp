// Random: the one source of randomness in the traffic writer. Everything synth
// writes is a pure function of the scenario seed, so the generator is our own
// (xoshiro256** seeded through splitmix64) rather than a standard distribution
// whose output differs between standard libraries.
#pragma once

#include <cmath>
#include <cstdint>
#include <iterator>
#include <string_view>

namespace spamtap::synth {

class Random {
 public:
  explicit Random(uint64_t seed) {
    for (auto &word : state_) {
      seed += 0x9e3779b97f4a7c15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      word = z ^ (z >> 31);
    }
  }

  uint64_t next() {
    const uint64_t result = rotate(state_[1] * 5, 7) * 9;
    const uint64_t shifted = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= shifted;
    state_[3] = rotate(state_[3], 45);
    return result;
  }

  // Uniform in [0, bound); bound 0 yields 0.
  uint64_t below(uint64_t bound) {
    if (bound == 0) return 0;
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * bound) >> 64);
  }
  // Uniform in [low, high], both inclusive.
  int64_t between(int64_t low, int64_t high) {
    return low + static_cast<int64_t>(below(static_cast<uint64_t>(high - low) + 1));
  }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  bool chance(double probability) { return unit() < probability; }
  // Exponentially distributed with the given mean (inter-arrival times).
  double exponential(double mean) { return -mean * std::log1p(-unit()); }
  // Log-normal around `median` with shape `sigma` (sizes of web objects,
  // mails).
  double log_normal(double median, double sigma) {
    const double u1 = unit() + 1e-300;
    const double u2 = unit();
    const double normal = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    return median * std::exp(sigma * normal);
  }

  template <typename Container>
  const auto &pick(const Container &items) {
    return items[below(std::size(items))];
  }

  // A child generator whose stream does not depend on how much of this one is
  // used later.
  Random fork() { return Random(next()); }

 private:
  static uint64_t rotate(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4]{};
};

}  // namespace spamtap::synth
