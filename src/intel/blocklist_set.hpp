// BlocklistSet: every loaded blocklist folded into one immutable structure that answers,
// for one address, which lists hold it and through which entry. It is built once at load,
// never changes afterwards, and is shared read-only by all worker threads. A reload
// builds a new set and swaps it into a `BlocklistSetHolder`.
//
// How matching works
// ------------------
// CIDRs never cross: two prefixes are either disjoint or one holds the other. So the
// prefixes of all lists cut the address space into elementary intervals, and inside one
// interval the answer does not change. At build time a sweep over the sorted prefixes
// (keeping the chain of open prefixes on a stack) gives each interval its *match set*:
// for every list that covers the interval, the most specific entry of that list. Each
// interval carries a 32-bit match code: 0 when no list holds it, the entry index with the
// top bit set when one list does (the common case, with no further indirection), or the
// id of a stored multi-list set; equal sets are stored once.
//
// IPv4 lookups use a two-level table, a DIR-16 split of the elementary intervals:
//   level 1: 65,536 chunks, one per /16, 8 bytes each (512 KiB). A /16 that lies in one
//            interval stores its set id inline, so a miss in empty space is one load.
//   level 2: for a /16 crossed by interval starts, the 16-bit low halves of those starts
//            (2 bytes each, sorted) and a parallel array of match codes (4 bytes each). A
//            branchless binary search over the keys finds the last start <= the address.
//            One bit per interval says "listed", so contains_any() never reads the codes.
// Each prefix adds at most two interval starts, so the IPv4 index costs about 12 bytes
// per prefix plus multi-list sets; the entries are 32 bytes each plus interned labels.
// IPv6 lookups binary-search a sorted array of 128-bit interval starts.
//
// LIMITATION: IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are matched only against IPv6
// entries, not against the IPv4 entry for a.b.c.d.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/address.hpp"
#include "intel/blocklist.hpp"
#include "intel/range.hpp"

namespace spamtap::intel {

// One list that holds the address, and its most specific entry that does.
struct Match {
  uint16_t list_index = 0;  // into BlocklistSet::lists()
  Cidr entry;
  std::string_view entry_label;  // SBL id, category, description; lives as long as the set
};

class BlocklistSet;

// The matches for one address, in list order; a view into the set, no allocation.
class MatchList {
 public:
  MatchList() = default;
  MatchList(const BlocklistSet* set, const uint32_t* members, uint32_t count)
      : set_(set), members_(members), count_(count) {}
  // A single entry, held inline.
  MatchList(const BlocklistSet* set, uint32_t entry) : set_(set), count_(1), single_(entry) {}

  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  Match operator[](size_t index) const;

  class Iterator {
   public:
    Iterator(const MatchList* list, size_t index) : list_(list), index_(index) {}
    Match operator*() const { return (*list_)[index_]; }
    Iterator& operator++() {
      ++index_;
      return *this;
    }
    bool operator!=(const Iterator& other) const { return index_ != other.index_; }

   private:
    const MatchList* list_;
    size_t index_;
  };
  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, size()); }

 private:
  const BlocklistSet* set_ = nullptr;
  const uint32_t* members_ = nullptr;  // nullptr: the one entry is `single_`
  uint32_t count_ = 0;
  uint32_t single_ = 0;
};

class BlocklistSet {
 public:
  // Takes the lists (their entries are moved into the set's compact storage). Returns
  // nullptr with a message in `error` when two lists share a name or there are more than
  // 65,535 lists.
  static std::shared_ptr<const BlocklistSet> build(std::vector<Blocklist> lists,
                                                   std::string* error);

  // The common case on the hot path: is the address on any list at all?
  bool contains_any(const IpAddress& address) const {
    if (!address.is_v6()) return contains_any_v4(v4_of(address));
    return v6_match_code(to_integer(address)) != 0;
  }
  bool contains_any_v4(uint32_t host_order) const {
    const Chunk& chunk = v4_chunks_[host_order >> 16];
    if (chunk.count == 0) return chunk.first != 0;
    uint32_t position = v4_position(chunk, host_order);
    return (v4_listed_[position / 64] >> (position % 64)) & 1;
  }

  MatchList lookup(const IpAddress& address) const { return match_list(match_code(address)); }
  MatchList lookup_v4(uint32_t host_order) const { return match_list(v4_match_code(host_order)); }

  const std::vector<BlocklistInfo>& lists() const { return lists_; }
  size_t entry_count() const { return entries_.size(); }

  // Bytes held by the lookup index (IPv4 tables, IPv6 intervals, match sets).
  size_t index_bytes() const;
  // Index plus entries, labels and list descriptions: everything the set owns.
  size_t memory_bytes() const;
  size_t v4_interval_count() const { return v4_values_.size(); }

  // The match code of an address: 0 when no list holds it, and equal codes mean equal
  // matches within one set. Detectors can keep it to remember "already reported this".
  uint32_t match_code(const IpAddress& address) const {
    if (!address.is_v6()) return v4_match_code(v4_of(address));
    return v6_match_code(to_integer(address));
  }
  uint32_t v4_match_code(uint32_t address) const {
    const Chunk& chunk = v4_chunks_[address >> 16];
    if (chunk.count == 0) return chunk.first;
    return v4_values_[v4_position(chunk, address)];
  }
  MatchList match_list(uint32_t code) const {
    if (code & kSingleEntry) return MatchList(this, code & ~kSingleEntry);
    return MatchList(this, members_.data() + set_offsets_[code],
                     set_offsets_[code + 1] - set_offsets_[code]);
  }

 private:
  friend class MatchList;
  friend class SetBuilder;

  static constexpr uint32_t kSingleEntry = 0x80000000u;

  struct Chunk {
    uint32_t first = 0;  // index into v4_keys_/v4_values_, or the match code when count == 0
    uint32_t count = 0;
  };
  struct StoredEntry {
    Cidr network;
    uint32_t label_offset = 0;
    uint16_t label_length = 0;
    uint16_t list_index = 0;
  };

  BlocklistSet() = default;

  static uint32_t v4_of(const IpAddress& address) {
    const auto& bytes = address.bytes();
    return (uint32_t{bytes[12]} << 24) | (uint32_t{bytes[13]} << 16) |
           (uint32_t{bytes[14]} << 8) | uint32_t{bytes[15]};
  }
  // Index (into v4_keys_/v4_values_) of the last interval start <= address in the chunk.
  uint32_t v4_position(const Chunk& chunk, uint32_t address) const {
    const uint16_t* keys = v4_keys_.data() + chunk.first;
    const uint16_t* base = keys;
    auto low = static_cast<uint16_t>(address);
    uint32_t remaining = chunk.count;
    while (remaining > 1) {
      uint32_t half = remaining / 2;
      base = base[half] <= low ? base + half : base;
      remaining -= half;
    }
    return chunk.first + static_cast<uint32_t>(base - keys);
  }
  uint32_t v6_match_code(Uint128 address) const;

  std::vector<BlocklistInfo> lists_;
  std::vector<StoredEntry> entries_;
  std::string labels_;

  // Multi-list set i = members_[set_offsets_[i], set_offsets_[i+1]); set 0 is empty.
  std::vector<uint32_t> set_offsets_;
  std::vector<uint32_t> members_;  // entry indices, one per list, in list order

  std::vector<Chunk> v4_chunks_;  // 65,536
  std::vector<uint16_t> v4_keys_;
  std::vector<uint32_t> v4_values_;  // match codes
  std::vector<uint64_t> v4_listed_;  // bit i: v4_values_[i] != 0

  std::vector<Uint128> v6_starts_;  // sorted; v6_starts_[0] == 0
  std::vector<uint32_t> v6_values_;
};

inline Match MatchList::operator[](size_t index) const {
  const auto& stored = set_->entries_[members_ ? members_[index] : single_];
  return Match{stored.list_index, stored.network,
               std::string_view(set_->labels_).substr(stored.label_offset, stored.label_length)};
}

// Reads every source and builds one set. Returns nullptr with `error` set when a list
// cannot be read or the set cannot be built; warnings of every list go to `warnings`.
std::shared_ptr<const BlocklistSet> load_blocklist_set(const std::vector<BlocklistSource>& sources,
                                                       std::string* error,
                                                       std::vector<LoadWarning>* warnings);

// The current set, swapped whole on reload. Readers take a reference once per batch of
// packets, not per packet: each load() touches a shared reference count.
class BlocklistSetHolder {
 public:
  BlocklistSetHolder() = default;
  explicit BlocklistSetHolder(std::shared_ptr<const BlocklistSet> initial)
      : current_(std::move(initial)) {}

  std::shared_ptr<const BlocklistSet> load() const {
    return current_.load(std::memory_order_acquire);
  }
  void store(std::shared_ptr<const BlocklistSet> next) {
    current_.store(std::move(next), std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const BlocklistSet>> current_;
};

}  // namespace spamtap::intel
