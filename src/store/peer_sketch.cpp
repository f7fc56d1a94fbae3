#include "store/peer_sketch.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <memory>

namespace spamtap {

namespace {

constexpr uint8_t kExactKind = 1;
constexpr uint8_t kHyperLogLogKind = 2;
// A register holds the position of the first set bit of the hash bits below the index.
constexpr uint8_t kLargestRank = 64 - PeerSketch::kPrecision + 1;

}  // namespace

uint64_t PeerSketch::hash(std::string_view value) {
  // FNV-1a spreads the text over 64 bits; the finalizer mixes them so that the top bits
  // (the register index) and the rank bits are independent.
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : value) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

void PeerSketch::add_hash(uint64_t hash) {
  if (!exact()) {
    add_to_registers(hash);
    return;
  }
  auto at = std::lower_bound(hashes_.begin(), hashes_.end(), hash);
  if (at != hashes_.end() && *at == hash) return;
  hashes_.insert(at, hash);
  if (hashes_.size() > kExactLimit) to_hyperloglog();
}

void PeerSketch::merge(const PeerSketch& other) {
  if (&other == this) return;  // a set's union with itself; the loops below would alias
  if (other.exact()) {
    for (uint64_t hash : other.hashes_) add_hash(hash);
    return;
  }
  if (exact()) to_hyperloglog();
  for (size_t i = 0; i < kRegisters; ++i) {
    registers_[i] = std::max(registers_[i], other.registers_[i]);
  }
}

uint64_t PeerSketch::count() const {
  if (exact()) return hashes_.size();
  double m = static_cast<double>(kRegisters);
  double sum = 0;
  size_t zeros = 0;
  for (uint8_t rank : registers_) {
    sum += std::ldexp(1.0, -rank);
    if (rank == 0) zeros++;
  }
  double alpha = 0.7213 / (1.0 + 1.079 / m);
  double estimate = alpha * m * m / sum;
  // Small cardinalities: linear counting over the empty registers is more accurate.
  if (estimate <= 2.5 * m && zeros > 0) {
    estimate = m * std::log(m / static_cast<double>(zeros));
  }
  return static_cast<uint64_t>(estimate + 0.5);
}

std::string PeerSketch::serialize() const {
  std::string out;
  if (exact()) {
    out.reserve(1 + 8 * hashes_.size());
    out.push_back(static_cast<char>(kExactKind));
    for (uint64_t hash : hashes_) {
      for (int byte = 0; byte < 8; ++byte) out.push_back(static_cast<char>(hash >> (8 * byte)));
    }
    return out;
  }
  out.reserve(2 + kRegisters);
  out.push_back(static_cast<char>(kHyperLogLogKind));
  out.push_back(static_cast<char>(kPrecision));
  out.append(registers_.begin(), registers_.end());
  return out;
}

bool PeerSketch::parse(std::span<const uint8_t> bytes, PeerSketch* sketch) {
  if (bytes.empty()) return false;
  if (bytes[0] == kExactKind) {
    size_t count = (bytes.size() - 1) / 8;
    if ((bytes.size() - 1) % 8 != 0 || count > kExactLimit) return false;
    std::vector<uint64_t> hashes(count);
    for (size_t i = 0; i < count; ++i) {
      uint64_t hash = 0;
      for (int byte = 0; byte < 8; ++byte) {
        hash |= uint64_t{bytes[1 + 8 * i + static_cast<size_t>(byte)]} << (8 * byte);
      }
      if (i > 0 && hash <= hashes[i - 1]) return false;
      hashes[i] = hash;
    }
    sketch->hashes_ = std::move(hashes);
    sketch->registers_.clear();
    return true;
  }
  if (bytes[0] == kHyperLogLogKind) {
    if (bytes.size() != 2 + kRegisters || bytes[1] != kPrecision) return false;
    auto registers = bytes.subspan(2);
    if (std::any_of(registers.begin(), registers.end(),
                    [](uint8_t rank) { return rank > kLargestRank; })) {
      return false;
    }
    sketch->hashes_.clear();
    sketch->registers_.assign(registers.begin(), registers.end());
    return true;
  }
  return false;
}

void PeerSketch::to_hyperloglog() {
  registers_.assign(kRegisters, 0);
  for (uint64_t hash : hashes_) add_to_registers(hash);
  hashes_.clear();
  hashes_.shrink_to_fit();
}

void PeerSketch::add_to_registers(uint64_t hash) {
  size_t index = static_cast<size_t>(hash >> (64 - kPrecision));
  uint64_t rest = hash << kPrecision;
  uint8_t rank = rest == 0 ? kLargestRank : static_cast<uint8_t>(std::countl_zero(rest) + 1);
  registers_[index] = std::max(registers_[index], rank);
}

// --- SQL functions ---------------------------------------------------------------------

namespace {

// The aggregate's state lives in SQLite's aggregate context as an owning pointer,
// created on the first row and released in the final call.
PeerSketch* state(sqlite3_context* context, bool create) {
  auto** slot = static_cast<PeerSketch**>(
      sqlite3_aggregate_context(context, create ? sizeof(PeerSketch*) : 0));
  if (!slot) return nullptr;
  if (!*slot && create) *slot = std::make_unique<PeerSketch>().release();
  return *slot;
}

std::unique_ptr<PeerSketch> take_state(sqlite3_context* context) {
  auto** slot = static_cast<PeerSketch**>(sqlite3_aggregate_context(context, 0));
  if (!slot) return nullptr;
  std::unique_ptr<PeerSketch> owned(*slot);
  *slot = nullptr;
  return owned;
}

// Reads a sketch argument; false after reporting the error when it is not one.
bool read_sketch(sqlite3_context* context, sqlite3_value* value, PeerSketch* sketch) {
  if (sqlite3_value_type(value) != SQLITE_BLOB) {
    sqlite3_result_error(context, "not a peer sketch (expected a BLOB)", -1);
    return false;
  }
  const auto* data = static_cast<const uint8_t*>(sqlite3_value_blob(value));
  size_t size = static_cast<size_t>(sqlite3_value_bytes(value));
  if (!data || !PeerSketch::parse({data, size}, sketch)) {
    sqlite3_result_error(context, "not a peer sketch (malformed BLOB)", -1);
    return false;
  }
  return true;
}

void result_sketch(sqlite3_context* context, const PeerSketch& sketch) {
  std::string bytes = sketch.serialize();
  sqlite3_result_blob(context, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
}

void sketch_of_step(sqlite3_context* context, int, sqlite3_value** arguments) {
  if (sqlite3_value_type(arguments[0]) == SQLITE_NULL) return;
  PeerSketch* sketch = state(context, true);
  if (!sketch) {
    sqlite3_result_error_nomem(context);
    return;
  }
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(arguments[0]));
  int size = sqlite3_value_bytes(arguments[0]);
  sketch->add(std::string_view(text ? text : "", static_cast<size_t>(size)));
}

void union_step(sqlite3_context* context, int, sqlite3_value** arguments) {
  if (sqlite3_value_type(arguments[0]) == SQLITE_NULL) return;
  bool first = state(context, false) == nullptr;
  PeerSketch* sketch = state(context, true);
  if (!sketch) {
    sqlite3_result_error_nomem(context);
    return;
  }
  // Most groups hold one sketch: the first is read straight into the state.
  if (first) {
    read_sketch(context, arguments[0], sketch);
    return;
  }
  PeerSketch incoming;
  if (!read_sketch(context, arguments[0], &incoming)) return;
  sketch->merge(incoming);
}

void sketch_final(sqlite3_context* context) {
  auto sketch = take_state(context);
  if (!sketch) {
    sqlite3_result_null(context);
    return;
  }
  result_sketch(context, *sketch);
}

void count_final(sqlite3_context* context) {
  auto sketch = take_state(context);
  sqlite3_result_int64(context, sketch ? static_cast<int64_t>(sketch->count()) : 0);
}

void merge_scalar(sqlite3_context* context, int, sqlite3_value** arguments) {
  PeerSketch result;
  bool any = false;
  for (int i = 0; i < 2; ++i) {
    if (sqlite3_value_type(arguments[i]) == SQLITE_NULL) continue;
    PeerSketch sketch;
    if (!read_sketch(context, arguments[i], &sketch)) return;
    result.merge(sketch);
    any = true;
  }
  if (!any) {
    sqlite3_result_null(context);
    return;
  }
  result_sketch(context, result);
}

}  // namespace

bool register_sketch_functions(sqlite3* db) {
  constexpr int kFlags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
  return sqlite3_create_function(db, "sketch_of", 1, kFlags, nullptr, nullptr, sketch_of_step,
                                 sketch_final) == SQLITE_OK &&
         sqlite3_create_function(db, "sketch_union", 1, kFlags, nullptr, nullptr, union_step,
                                 sketch_final) == SQLITE_OK &&
         sqlite3_create_function(db, "sketch_count", 1, kFlags, nullptr, nullptr, union_step,
                                 count_final) == SQLITE_OK &&
         sqlite3_create_function(db, "sketch_merge", 2, kFlags, nullptr, merge_scalar, nullptr,
                                 nullptr) == SQLITE_OK;
}

}  // namespace spamtap
