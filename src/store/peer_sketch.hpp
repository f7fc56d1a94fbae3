// PeerSketch: a mergeable count of distinct values (peers of a host, hosts of a port), so
// that "distinct peers over any time range and any host set" is a merge of small
// per-hour sketches instead of a COUNT(DISTINCT) over every connection.
//
// A sketch is exact while it holds at most kExactLimit values: the sorted 64-bit hashes
// of the values. Past that it becomes a HyperLogLog of 2^kPrecision one-byte registers,
// whose estimate has a standard error of 1.04 / sqrt(2^kPrecision), about 2.3 %.
// Merging two sketches gives the sketch of the union of their values.
//
// Stored form (a BLOB): one kind byte, then
//   kExact:       the hashes, 8 bytes each, little-endian, strictly ascending;
//   kHyperLogLog: the precision byte, then one byte per register.
// A stored sketch is read back with parse(), which rejects anything else.
//
// The store registers SQL functions over these BLOBs on each connection that reads or
// writes aggregates (register_sketch_functions):
//   sketch_of(value)      aggregate: the sketch of the non-NULL values;
//   sketch_union(sketch)  aggregate: the union of the sketches, as a sketch;
//   sketch_count(sketch)  aggregate: the distinct count of the union;
//   sketch_merge(a, b)    scalar: the union of two sketches (either may be NULL).
// NULL sketches are skipped; a BLOB that is not a sketch fails the statement.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;

namespace spamtap {

class PeerSketch {
 public:
  static constexpr size_t kExactLimit = 64;
  static constexpr int kPrecision = 11;
  static constexpr size_t kRegisters = size_t{1} << kPrecision;

  static uint64_t hash(std::string_view value);

  void add(std::string_view value) { add_hash(hash(value)); }
  void add_hash(uint64_t hash);
  void merge(const PeerSketch& other);

  // Exact while exact(), an estimate after.
  uint64_t count() const;
  bool exact() const { return registers_.empty(); }

  std::string serialize() const;
  // False (and the sketch unchanged) when `bytes` is not a stored sketch.
  static bool parse(std::span<const uint8_t> bytes, PeerSketch* sketch);

 private:
  void to_hyperloglog();
  void add_to_registers(uint64_t hash);

  std::vector<uint64_t> hashes_;    // sorted, while exact
  std::vector<uint8_t> registers_;  // kRegisters of them once estimating
};

// Registers the sketch_* functions above on `db`. False when SQLite refuses.
bool register_sketch_functions(sqlite3* db);

}  // namespace spamtap
