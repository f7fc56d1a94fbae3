#include "decode/fragment_table.hpp"

#include <algorithm>
#include <cstring>

namespace spamtap::decode_detail {

namespace {

// Largest fragmentable part an IP datagram can describe with 16-bit lengths.
constexpr uint32_t kMaxDatagramLength = 65535;
// Disjoint pieces held per datagram; in-order pieces merge, so only a hostile
// scattering of tiny fragments comes near this.
constexpr size_t kMaxPiecesPerDatagram = 1024;

FragmentTable::Result rejected(Anomaly anomaly) {
  FragmentTable::Result result;
  result.outcome = FragmentTable::Outcome::kRejected;
  result.anomaly = anomaly;
  return result;
}

}  // namespace

FragmentTable::Datagram* FragmentTable::find(const FragmentKey& key) {
  for (Datagram& datagram : datagrams_) {
    if (datagram.key == key) return &datagram;
  }
  return nullptr;
}

void FragmentTable::remove(size_t index) {
  bytes_held_ -= datagrams_[index].data.size();
  if (index + 1 != datagrams_.size()) datagrams_[index] = std::move(datagrams_.back());
  datagrams_.pop_back();
}

uint64_t FragmentTable::expire(Timestamp now) {
  if (datagrams_.empty() || now - oldest_ <= limits_.fragment_timeout) return 0;

  uint64_t dropped = 0;
  Timestamp oldest = now;
  for (size_t i = 0; i < datagrams_.size();) {
    if (now - datagrams_[i].first_seen > limits_.fragment_timeout) {
      remove(i);
      ++dropped;
      continue;
    }
    oldest = std::min(oldest, datagrams_[i].first_seen);
    ++i;
  }
  oldest_ = oldest;
  return dropped;
}

bool FragmentTable::overlap_differs(const Datagram& datagram, const Fragment& fragment) {
  uint32_t begin = fragment.offset;
  uint32_t end = fragment.offset + fragment.length;
  for (const auto& [have_begin, have_end] : datagram.received) {
    uint32_t from = std::max(begin, have_begin);
    uint32_t to = std::min(end, have_end);
    if (from >= to) continue;
    if (std::memcmp(datagram.data.data() + from, fragment.bytes + (from - begin), to - from) !=
        0) {
      return true;
    }
  }
  return false;
}

void FragmentTable::mark_received(Datagram* datagram, uint32_t begin, uint32_t end) {
  auto& pieces = datagram->received;
  pieces.emplace_back(begin, end);
  std::sort(pieces.begin(), pieces.end());
  size_t out = 0;
  for (size_t i = 1; i < pieces.size(); ++i) {
    if (pieces[i].first <= pieces[out].second) {
      pieces[out].second = std::max(pieces[out].second, pieces[i].second);
    } else {
      pieces[++out] = pieces[i];
    }
  }
  pieces.resize(out + 1);
}

FragmentTable::Result FragmentTable::add(const FragmentKey& key, Timestamp now,
                                         const Fragment& fragment,
                                         std::vector<uint8_t>* assembled) {
  uint32_t end = fragment.offset + fragment.length;
  if (fragment.offset > kMaxDatagramLength || end > kMaxDatagramLength) {
    return rejected(Anomaly::kFragmentTooLarge);
  }
  if (fragment.length == 0 && fragment.more_fragments) return rejected(Anomaly::kFragmentEmpty);

  Datagram* datagram = find(key);
  if (datagram == nullptr) {
    if (datagrams_.size() >= limits_.max_fragment_datagrams) {
      return rejected(Anomaly::kFragmentTableFull);
    }
    if (datagrams_.empty() || now < oldest_) oldest_ = now;
    datagrams_.emplace_back();
    datagram = &datagrams_.back();
    datagram->key = key;
    datagram->first_seen = now;
  }
  size_t index = static_cast<size_t>(datagram - datagrams_.data());

  bool inconsistent = false;
  if (!fragment.more_fragments) {
    inconsistent = (datagram->total_known && datagram->total_length != end) ||
                   (!datagram->received.empty() && datagram->received.back().second > end);
  } else {
    inconsistent = datagram->total_known && end > datagram->total_length;
  }
  if (inconsistent) {
    remove(index);
    return rejected(Anomaly::kFragmentInconsistentLength);
  }
  if (overlap_differs(*datagram, fragment)) return rejected(Anomaly::kFragmentOverlap);
  if (datagram->received.size() >= kMaxPiecesPerDatagram) {
    return rejected(Anomaly::kFragmentTableFull);
  }

  if (end > datagram->data.size()) {
    size_t growth = end - datagram->data.size();
    if (bytes_held_ + growth > limits_.max_fragment_bytes) {
      return rejected(Anomaly::kFragmentTableFull);
    }
    datagram->data.resize(end);
    bytes_held_ += growth;
  }
  if (fragment.length > 0) {
    std::memcpy(datagram->data.data() + fragment.offset, fragment.bytes, fragment.length);
    mark_received(datagram, fragment.offset, end);
  }
  if (!fragment.more_fragments) {
    datagram->total_known = true;
    datagram->total_length = end;
  }
  if (fragment.offset == 0) {
    datagram->have_first = true;
    datagram->first.header_length = fragment.header_length;
    datagram->first.next_header = fragment.next_header;
  }

  bool whole = datagram->total_known && datagram->have_first &&
               (datagram->total_length == 0 ||
                (datagram->received.size() == 1 && datagram->received[0].first == 0 &&
                 datagram->received[0].second == datagram->total_length));
  if (!whole) return Result{};

  Result result;
  result.outcome = Outcome::kComplete;
  result.datagram = datagram->first;
  assembled->assign(datagram->data.begin(), datagram->data.begin() + datagram->total_length);
  remove(index);
  return result;
}

}  // namespace spamtap::decode_detail
