// Blocklist matching benchmark: one million synthetic prefixes (IPv4 and IPv6, lengths
// mixed the way real lists mix them, fixed seed) in eight lists. Prints load time, memory
// per prefix and IPv4 lookups per second on one core, next to a plain baseline built in
// the same run: one sorted vector of networks per prefix length, binary-searched from the
// longest length down.
//
//   bench_blocklist [prefixes] [lookups]     defaults: 1000000 20000000
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "intel/blocklist_set.hpp"

namespace {

using spamtap::IpAddress;
using namespace spamtap::intel;
using Clock = std::chrono::steady_clock;

constexpr int kLists = 8;
constexpr uint64_t kSeed = 20240917;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages_total = 0;
  size_t pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * 4096;
}

// Lengths weighted like public lists: mostly hosts and /24s, few wide networks (a
// thousand /8-/16 networks alone would cover most of the IPv4 space).
int ipv4_length(std::mt19937_64& random) {
  int pick = static_cast<int>(random() % 1000);
  if (pick < 500) return 32;
  if (pick < 850) return 24;
  if (pick < 930) return 25 + static_cast<int>(random() % 7);
  if (pick < 999) return 17 + static_cast<int>(random() % 7);
  return 11 + static_cast<int>(random() % 6);
}

int ipv6_length(std::mt19937_64& random) {
  int pick = static_cast<int>(random() % 100);
  if (pick < 40) return 128;
  if (pick < 70) return 48;
  if (pick < 90) return 64;
  return 28 + static_cast<int>(random() % 20);
}

// The plain way: networks of each prefix length in a sorted vector.
class SortedVectorBaseline {
 public:
  struct Hit {
    uint16_t list;
    uint32_t network;
    int length;
  };

  void add(uint32_t network, int length, uint16_t list) {
    by_length_[length].push_back(Item{network, list});
  }
  void finish() {
    for (auto& items : by_length_) {
      std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
        return a.network != b.network ? a.network < b.network : a.list < b.list;
      });
      items.shrink_to_fit();
    }
  }
  size_t bytes() const {
    size_t total = 0;
    for (const auto& items : by_length_) total += items.capacity() * sizeof(Item);
    return total;
  }

  bool contains_any(uint32_t address) const {
    for (int length = 32; length >= 0; --length) {
      const auto& items = by_length_[length];
      if (items.empty()) continue;
      uint32_t network = length == 0 ? 0 : address & (~uint32_t{0} << (32 - length));
      auto it = std::lower_bound(items.begin(), items.end(), network,
                                 [](const Item& item, uint32_t value) {
                                   return item.network < value;
                                 });
      if (it != items.end() && it->network == network) return true;
    }
    return false;
  }

  // Most specific entry of every list, in list order.
  void lookup(uint32_t address, std::vector<Hit>& hits) const {
    hits.clear();
    uint32_t seen_lists = 0;
    for (int length = 32; length >= 0; --length) {
      const auto& items = by_length_[length];
      if (items.empty()) continue;
      uint32_t network = length == 0 ? 0 : address & (~uint32_t{0} << (32 - length));
      auto it = std::lower_bound(items.begin(), items.end(), network,
                                 [](const Item& item, uint32_t value) {
                                   return item.network < value;
                                 });
      for (; it != items.end() && it->network == network; ++it) {
        if (seen_lists & (1u << it->list)) continue;
        seen_lists |= 1u << it->list;
        hits.push_back(Hit{it->list, network, length});
      }
    }
    std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) { return a.list < b.list; });
  }

 private:
  struct Item {
    uint32_t network;
    uint16_t list;
  };
  std::vector<Item> by_length_[33];
};

template <typename Function>
double lookups_per_second(const std::vector<uint32_t>& addresses, size_t lookups,
                          uint64_t& checksum, Function&& function) {
  auto start = Clock::now();
  size_t done = 0;
  while (done < lookups) {
    for (uint32_t address : addresses) checksum += function(address);
    done += addresses.size();
  }
  return static_cast<double>(done) / seconds_since(start);
}

}  // namespace

int main(int argc, char** argv) {
  size_t prefix_count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  size_t lookup_count = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 20000000;
  std::mt19937_64 random(kSeed);
  malloc_trim(0);
  size_t rss_before = resident_bytes();

  // Text first, so that the load time includes parsing as it would from files.
  std::vector<std::string> texts(kLists);
  size_t ipv4_prefixes = 0;
  for (size_t i = 0; i < prefix_count; ++i) {
    auto& text = texts[random() % kLists];
    uint8_t bytes[16];
    for (auto& byte : bytes) byte = static_cast<uint8_t>(random());
    bool v6 = random() % 4 == 0;
    if (v6) {
      bytes[0] = 0x20 | (bytes[0] & 0x0f);  // global unicast
      text += IpAddress::v6_bytes(bytes).to_string() + "/" + std::to_string(ipv6_length(random));
    } else {
      text += IpAddress::v4_bytes(bytes).to_string() + "/" + std::to_string(ipv4_length(random));
      ++ipv4_prefixes;
    }
    text += " ; SBL" + std::to_string(100000 + random() % 900000) + "\n";
  }

  auto parse_start = Clock::now();
  std::vector<Blocklist> lists;
  for (int i = 0; i < kLists; ++i) {
    ParseOptions options;
    options.format = BlocklistFormat::kSpamhausDrop;
    lists.push_back(parse_blocklist(texts[i], options));
    lists.back().info.name = "list" + std::to_string(i);
  }
  double parse_seconds = seconds_since(parse_start);

  SortedVectorBaseline baseline;
  size_t entries = 0;
  for (int i = 0; i < kLists; ++i) {
    for (const auto& entry : lists[i].entries) {
      ++entries;
      if (!entry.network.network.is_v6()) {
        baseline.add(entry.network.network.v4_value(), entry.network.prefix_length,
                     static_cast<uint16_t>(i));
      }
    }
  }
  baseline.finish();

  auto build_start = Clock::now();
  std::string error;
  auto set = BlocklistSet::build(std::move(lists), &error);
  double build_seconds = seconds_since(build_start);
  if (!set) {
    std::fprintf(stderr, "build failed: %s\n", error.c_str());
    return 1;
  }
  lists.clear();
  texts.clear();
  texts.shrink_to_fit();
  malloc_trim(0);
  size_t rss_after = resident_bytes() - baseline.bytes();

  // Lookups: half uniform over the IPv4 space, half inside listed networks.
  std::vector<uint32_t> addresses(1u << 22);
  std::vector<uint32_t> listed;
  for (uint32_t a = 0; listed.size() < 4096 && a < 1u << 20; ++a) {
    uint32_t candidate = static_cast<uint32_t>(random());
    if (set->contains_any_v4(candidate)) listed.push_back(candidate);
  }
  for (size_t i = 0; i < addresses.size(); ++i) {
    uint32_t value = static_cast<uint32_t>(random());
    if (i % 2 == 1 && !listed.empty()) {
      value = listed[random() % listed.size()] ^ static_cast<uint32_t>(random() % 4);
    }
    addresses[i] = value;
  }

  // Both answer the same question; check that they agree before timing them.
  std::vector<SortedVectorBaseline::Hit> hits;
  size_t disagreements = 0;
  for (size_t i = 0; i < 200000; ++i) {
    uint32_t address = addresses[i];
    baseline.lookup(address, hits);
    auto matches = set->lookup_v4(address);
    bool same = matches.size() == hits.size();
    for (size_t m = 0; same && m < hits.size(); ++m) {
      auto match = matches[m];
      same = match.list_index == hits[m].list && match.entry.prefix_length == hits[m].length &&
             match.entry.network.v4_value() == hits[m].network;
    }
    disagreements += !same;
  }

  uint64_t checksum = 0;
  double set_any = lookups_per_second(addresses, lookup_count, checksum, [&](uint32_t a) {
    return set->contains_any_v4(a) ? 1 : 0;
  });
  double set_code = lookups_per_second(addresses, lookup_count, checksum, [&](uint32_t a) {
    return set->v4_match_code(a);
  });
  double set_lookup = lookups_per_second(addresses, lookup_count, checksum, [&](uint32_t a) {
    auto matches = set->lookup_v4(a);
    return matches.empty() ? 0 : matches[0].entry.prefix_length + matches.size();
  });
  size_t baseline_lookups = lookup_count / 10;  // it is slow; fewer rounds, same rate
  double base_any = lookups_per_second(addresses, baseline_lookups, checksum, [&](uint32_t a) {
    return baseline.contains_any(a) ? 1 : 0;
  });
  double base_lookup = lookups_per_second(addresses, baseline_lookups, checksum, [&](uint32_t a) {
    baseline.lookup(a, hits);
    return hits.empty() ? 0 : hits[0].length + hits.size();
  });

  size_t hit_count = 0;
  for (uint32_t a : addresses) hit_count += set->contains_any_v4(a);

  double per_prefix_index = static_cast<double>(set->index_bytes()) / entries;
  double per_prefix_total = static_cast<double>(set->memory_bytes()) / entries;
  double per_prefix_rss = static_cast<double>(rss_after - rss_before) / entries;
  std::printf("prefixes            %zu generated, %zu kept (%zu IPv4), %d lists, seed %" PRIu64
              "\n",
              prefix_count, entries, ipv4_prefixes, kLists, kSeed);
  std::printf("load                parse %.3f s, build %.3f s, total %.3f s\n", parse_seconds,
              build_seconds, parse_seconds + build_seconds);
  std::printf("memory (set)        index %.1f B/prefix, all owned %.1f B/prefix, "
              "RSS delta %.1f B/prefix; %zu IPv4 intervals\n",
              per_prefix_index, per_prefix_total, per_prefix_rss, set->v4_interval_count());
  std::printf("memory (baseline)   %.1f B/IPv4 prefix (networks only, no labels)\n",
              static_cast<double>(baseline.bytes()) / ipv4_prefixes);
  std::printf("workload            %zu addresses, %.1f%% on a list; %zu disagreements "
              "between set and baseline in 200000 checks\n",
              addresses.size(), 100.0 * hit_count / addresses.size(), disagreements);
  std::printf("%-20s %14s %14s %8s\n", "IPv4, one core", "set (M/s)", "baseline (M/s)", "ratio");
  std::printf("%-20s %14.1f %14.1f %7.1fx\n", "contains_any", set_any / 1e6, base_any / 1e6,
              set_any / base_any);
  std::printf("%-20s %14.1f %14s %8s\n", "match code only", set_code / 1e6, "-", "-");
  std::printf("%-20s %14.1f %14.1f %7.1fx\n", "lookup (all lists)", set_lookup / 1e6,
              base_lookup / 1e6, set_lookup / base_lookup);
  std::printf("checksum            %" PRIu64 "\n", checksum);
  return disagreements == 0 ? 0 : 1;
}
