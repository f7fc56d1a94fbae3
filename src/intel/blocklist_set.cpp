#include "intel/blocklist_set.hpp"

#include <algorithm>
#include <limits>
#include <unordered_map>
#include <unordered_set>

namespace spamtap::intel {

struct MemberHash {
  size_t operator()(const std::vector<uint32_t>& members) const {
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (uint32_t member : members) hash = (hash ^ member) * 0x100000001b3ULL;
    return hash;
  }
};

// Turns the entries into elementary intervals and match sets (see the header).
class SetBuilder {
 public:
  explicit SetBuilder(BlocklistSet& set) : set_(set) {
    set_.set_offsets_.push_back(0);
    set_.set_offsets_.push_back(0);  // set 0: empty
    interned_.emplace(std::vector<uint32_t>{}, 0);
    list_stamps_.assign(set_.lists_.size(), 0);
  }

  struct Interval {
    Uint128 start;
    uint32_t set_id;
  };

  std::vector<Interval> sweep(bool v6) {
    struct Item {
      Uint128 start;
      Uint128 last;
      int prefix_length;
      uint32_t entry;
    };
    std::vector<Item> items;
    for (uint32_t i = 0; i < set_.entries_.size(); ++i) {
      const auto& cidr = set_.entries_[i].network;
      if (cidr.network.is_v6() != v6) continue;
      items.push_back(Item{to_integer(cidr.network), last_address(cidr), cidr.prefix_length, i});
    }
    // Wider prefixes first at one start, so that the stack is always a chain of nested
    // prefixes with the most specific on top.
    std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
      if (a.start != b.start) return a.start < b.start;
      if (a.prefix_length != b.prefix_length) return a.prefix_length < b.prefix_length;
      return a.entry < b.entry;
    });

    std::vector<Interval> intervals;
    std::vector<const Item*> open;
    auto emit = [&](Uint128 start) {
      uint32_t id = intern(open);
      if (!intervals.empty() && intervals.back().start == start) {
        intervals.back().set_id = id;
      } else {
        intervals.push_back(Interval{start, id});
      }
    };

    emit(0);
    for (const auto& item : items) {
      while (!open.empty() && open.back()->last < item.start) {
        Uint128 end = open.back()->last;
        open.pop_back();
        emit(end + 1);  // end < item.start, so no overflow
      }
      open.push_back(&item);
      emit(item.start);
    }
    Uint128 top = v6 ? ~Uint128{0} : Uint128{0xFFFFFFFFu};
    while (!open.empty()) {
      Uint128 end = open.back()->last;
      open.pop_back();
      if (end != top) emit(end + 1);
    }

    // Neighbours with the same set are one interval.
    std::vector<Interval> merged;
    for (const auto& interval : intervals) {
      if (merged.empty() || merged.back().set_id != interval.set_id) merged.push_back(interval);
    }
    return merged;
  }

  void build_v4(const std::vector<Interval>& intervals) {
    set_.v4_chunks_.assign(65536, BlocklistSet::Chunk{});
    size_t current = 0;  // the interval holding the first address of the chunk
    for (uint32_t chunk = 0; chunk < 65536; ++chunk) {
      Uint128 chunk_first = Uint128{chunk} << 16;
      Uint128 chunk_last = chunk_first + 0xFFFF;
      while (current + 1 < intervals.size() && intervals[current + 1].start <= chunk_first) {
        ++current;
      }
      size_t end = current + 1;
      while (end < intervals.size() && intervals[end].start <= chunk_last) ++end;

      auto& slot = set_.v4_chunks_[chunk];
      if (end - current == 1) {
        slot.first = intervals[current].set_id;
        slot.count = 0;
        continue;
      }
      slot.first = static_cast<uint32_t>(set_.v4_keys_.size());
      slot.count = static_cast<uint32_t>(end - current);
      set_.v4_keys_.push_back(0);
      set_.v4_values_.push_back(intervals[current].set_id);
      for (size_t i = current + 1; i < end; ++i) {
        set_.v4_keys_.push_back(static_cast<uint16_t>(intervals[i].start));
        set_.v4_values_.push_back(intervals[i].set_id);
      }
    }
    set_.v4_keys_.shrink_to_fit();
    set_.v4_values_.shrink_to_fit();
    set_.v4_listed_.assign((set_.v4_values_.size() + 63) / 64, 0);
    for (size_t i = 0; i < set_.v4_values_.size(); ++i) {
      if (set_.v4_values_[i] != 0) set_.v4_listed_[i / 64] |= uint64_t{1} << (i % 64);
    }
  }

  void build_v6(const std::vector<Interval>& intervals) {
    for (const auto& interval : intervals) {
      set_.v6_starts_.push_back(interval.start);
      set_.v6_values_.push_back(interval.set_id);
    }
    set_.v6_starts_.shrink_to_fit();
    set_.v6_values_.shrink_to_fit();
  }

  void finish() {
    set_.set_offsets_.shrink_to_fit();
    set_.members_.shrink_to_fit();
  }

 private:
  template <typename Item>
  uint32_t intern(const std::vector<const Item*>& open) {
    // The most specific open entry of each list: walk from the top of the chain down.
    ++stamp_;
    scratch_.clear();
    for (auto it = open.rbegin(); it != open.rend(); ++it) {
      uint16_t list = set_.entries_[(*it)->entry].list_index;
      if (list_stamps_[list] == stamp_) continue;
      list_stamps_[list] = stamp_;
      scratch_.push_back((*it)->entry);
    }
    std::sort(scratch_.begin(), scratch_.end(), [&](uint32_t a, uint32_t b) {
      return set_.entries_[a].list_index < set_.entries_[b].list_index;
    });

    if (scratch_.size() == 1) return scratch_[0] | BlocklistSet::kSingleEntry;
    auto [slot, inserted] = interned_.try_emplace(scratch_, 0);
    if (!inserted) return slot->second;
    slot->second = static_cast<uint32_t>(set_.set_offsets_.size() - 1);
    set_.members_.insert(set_.members_.end(), scratch_.begin(), scratch_.end());
    set_.set_offsets_.push_back(static_cast<uint32_t>(set_.members_.size()));
    return slot->second;
  }

  BlocklistSet& set_;
  std::unordered_map<std::vector<uint32_t>, uint32_t, MemberHash> interned_;
  std::vector<uint32_t> list_stamps_;
  uint32_t stamp_ = 0;
  std::vector<uint32_t> scratch_;
};

std::shared_ptr<const BlocklistSet> BlocklistSet::build(std::vector<Blocklist> lists,
                                                        std::string* error) {
  if (lists.size() > std::numeric_limits<uint16_t>::max()) {
    if (error) *error = "too many blocklists (at most 65535)";
    return nullptr;
  }
  std::unordered_set<std::string> names;
  for (const auto& list : lists) {
    if (!names.insert(list.info.name).second) {
      if (error) *error = "two blocklists are named '" + list.info.name + "'";
      return nullptr;
    }
  }

  std::shared_ptr<BlocklistSet> set(new BlocklistSet());
  size_t total = 0;
  for (const auto& list : lists) total += list.entries.size();
  if (total >= BlocklistSet::kSingleEntry) {
    if (error) *error = "too many blocklist entries";
    return nullptr;
  }
  set->entries_.reserve(total);

  // Labels repeat a lot (one category name on thousands of entries): store each once.
  std::unordered_map<std::string_view, uint32_t> label_offsets;
  std::vector<std::pair<uint32_t, uint16_t>> label_spans;
  std::string pool;
  for (uint16_t index = 0; index < lists.size(); ++index) {
    auto& list = lists[index];
    set->lists_.push_back(std::move(list.info));
    for (auto& entry : list.entries) {
      std::string_view label = entry.label;
      if (label.size() > std::numeric_limits<uint16_t>::max()) {
        label = label.substr(0, std::numeric_limits<uint16_t>::max());
      }
      StoredEntry stored;
      stored.network = entry.network;
      stored.list_index = index;
      stored.label_length = static_cast<uint16_t>(label.size());
      auto found = label_offsets.find(label);
      if (found != label_offsets.end()) {
        stored.label_offset = found->second;
      } else {
        stored.label_offset = static_cast<uint32_t>(pool.size());
        pool.append(label);
        // Keys point into the entries, which stay alive until this function returns.
        label_offsets.emplace(label, stored.label_offset);
      }
      set->entries_.push_back(stored);
    }
  }
  set->labels_ = std::move(pool);

  SetBuilder builder(*set);
  builder.build_v4(builder.sweep(false));
  builder.build_v6(builder.sweep(true));
  builder.finish();
  return set;
}

uint32_t BlocklistSet::v6_match_code(Uint128 address) const {
  auto after = std::upper_bound(v6_starts_.begin(), v6_starts_.end(), address);
  return v6_values_[static_cast<size_t>(after - v6_starts_.begin()) - 1];
}

size_t BlocklistSet::index_bytes() const {
  return v4_chunks_.capacity() * sizeof(Chunk) + v4_keys_.capacity() * sizeof(uint16_t) +
         v4_values_.capacity() * sizeof(uint32_t) + v4_listed_.capacity() * sizeof(uint64_t) +
         v6_starts_.capacity() * sizeof(Uint128) +
         v6_values_.capacity() * sizeof(uint32_t) + set_offsets_.capacity() * sizeof(uint32_t) +
         members_.capacity() * sizeof(uint32_t);
}

size_t BlocklistSet::memory_bytes() const {
  size_t bytes = sizeof(*this) + index_bytes() + entries_.capacity() * sizeof(StoredEntry) +
                 labels_.capacity();
  for (const auto& list : lists_) {
    bytes += sizeof(list) + list.name.capacity() + list.category.capacity() +
             list.path.capacity();
  }
  return bytes;
}

std::shared_ptr<const BlocklistSet> load_blocklist_set(const std::vector<BlocklistSource>& sources,
                                                       std::string* error,
                                                       std::vector<LoadWarning>* warnings) {
  std::vector<Blocklist> lists;
  for (const auto& source : sources) {
    auto list = load_blocklist(source, error);
    if (!list) return nullptr;
    if (warnings) {
      warnings->insert(warnings->end(), list->warnings.begin(), list->warnings.end());
    }
    lists.push_back(std::move(*list));
  }
  return BlocklistSet::build(std::move(lists), error);
}

}  // namespace spamtap::intel
