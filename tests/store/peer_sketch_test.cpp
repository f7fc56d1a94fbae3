// The distinct-count sketch behind the aggregate tables: exact up to 64 values, a
// HyperLogLog with 2048 registers beyond (standard error 1.04 / sqrt(2048), about 2.3 %),
// merges that are unions, and stored forms that are checked before use.
#include "store/peer_sketch.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <string>
#include <vector>

namespace spamtap {
namespace {

// Three standard errors of the 2048-register estimate.
constexpr double kBound = 3 * 1.04 / 45.254833995939045;  // sqrt(2048)

std::string address(int i) {
  return "10." + std::to_string(i / 65536 % 256) + "." + std::to_string(i / 256 % 256) + "." +
         std::to_string(i % 256);
}

PeerSketch sketch_of(int first, int last) {
  PeerSketch sketch;
  for (int i = first; i < last; ++i) sketch.add(address(i));
  return sketch;
}

std::vector<uint8_t> bytes(const std::string& text) {
  return {text.begin(), text.end()};
}

TEST(PeerSketch, CountsExactlyUpToTheSwitch) {
  PeerSketch sketch = sketch_of(0, 64);
  EXPECT_TRUE(sketch.exact());
  EXPECT_EQ(sketch.count(), 64u);
  for (int i = 0; i < 64; ++i) sketch.add(address(i));  // the same peers again
  EXPECT_EQ(sketch.count(), 64u);

  sketch.add(address(64));
  EXPECT_FALSE(sketch.exact());
  EXPECT_NEAR(static_cast<double>(sketch.count()), 65.0, 65.0 * kBound);
}

TEST(PeerSketch, EstimatesStayWithinThreeStandardErrors) {
  for (int n : {100, 1000, 5000, 20000, 100000}) {
    PeerSketch sketch = sketch_of(0, n);
    EXPECT_NEAR(static_cast<double>(sketch.count()), n, n * kBound) << n;
  }
}

TEST(PeerSketch, MergeIsTheUnion) {
  PeerSketch left = sketch_of(0, 3);   // .0 .1 .2
  PeerSketch right = sketch_of(1, 5);  // .1 .2 .3 .4
  left.merge(right);
  EXPECT_TRUE(left.exact());
  EXPECT_EQ(left.count(), 5u);

  // Two large overlapping sets: 0..29999 and 20000..49999 make 50,000.
  PeerSketch first = sketch_of(0, 30000);
  PeerSketch second = sketch_of(20000, 50000);
  first.merge(second);
  EXPECT_NEAR(static_cast<double>(first.count()), 50000.0, 50000.0 * kBound);

  // Exact sets whose union passes the switch: 40 + 40 distinct make 80.
  PeerSketch a = sketch_of(0, 40);
  a.merge(sketch_of(40, 80));
  EXPECT_FALSE(a.exact());
  EXPECT_NEAR(static_cast<double>(a.count()), 80.0, 80.0 * kBound);

  // An exact set merged into an estimate, and the other way round, agree.
  PeerSketch big = sketch_of(0, 1000);
  PeerSketch small = sketch_of(5000, 5010);
  PeerSketch big_first = big;
  big_first.merge(small);
  small.merge(big);
  EXPECT_EQ(big_first.count(), small.count());
  EXPECT_NEAR(static_cast<double>(small.count()), 1010.0, 1010.0 * kBound);
}

TEST(PeerSketch, StoredFormRoundTrips) {
  for (int n : {0, 1, 64, 65, 3000}) {
    PeerSketch sketch = sketch_of(0, n);
    std::vector<uint8_t> stored = bytes(sketch.serialize());
    PeerSketch read;
    ASSERT_TRUE(PeerSketch::parse(stored, &read)) << n;
    EXPECT_EQ(read.count(), sketch.count()) << n;
    EXPECT_EQ(read.exact(), sketch.exact()) << n;
  }
}

TEST(PeerSketch, GarbledStoredFormsAreRejected) {
  PeerSketch kept = sketch_of(0, 3);
  std::string exact = sketch_of(0, 2).serialize();
  std::string estimate = sketch_of(0, 100).serialize();

  std::vector<std::vector<uint8_t>> hostile = {
      {},                                              // empty
      {7, 1, 2, 3},                                    // unknown kind
      bytes(exact.substr(0, exact.size() - 1)),        // not whole hashes
      bytes(estimate.substr(0, estimate.size() - 1)),  // short register array
      bytes(estimate + "x"),                           // long register array
  };
  std::string swapped = exact;  // hashes out of order
  std::swap_ranges(swapped.begin() + 1, swapped.begin() + 9, swapped.begin() + 9);
  hostile.push_back(bytes(swapped));
  std::string repeated = exact.substr(0, 9) + exact.substr(1, 8);  // a hash twice
  hostile.push_back(bytes(repeated));
  std::string too_many(1 + 8 * 65, '\0');  // more hashes than an exact sketch holds
  too_many[0] = exact[0];
  for (int i = 0; i < 65; ++i) too_many[1 + 8 * i] = static_cast<char>(i);
  hostile.push_back(bytes(too_many));
  std::string wrong_precision = estimate;
  wrong_precision[1] = 12;
  hostile.push_back(bytes(wrong_precision));
  std::string huge_rank = estimate;
  huge_rank[2] = static_cast<char>(200);
  hostile.push_back(bytes(huge_rank));

  for (size_t i = 0; i < hostile.size(); ++i) {
    EXPECT_FALSE(PeerSketch::parse(hostile[i], &kept)) << i;
    EXPECT_EQ(kept.count(), 3u) << i;  // untouched
  }
}

class SketchSqlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    ASSERT_TRUE(register_sketch_functions(db_));
    ASSERT_EQ(sqlite3_exec(db_,
                           "CREATE TABLE t (g INTEGER, v TEXT, s BLOB);"
                           "INSERT INTO t (g, v) VALUES (1, 'a'), (1, 'b'), (1, 'a'), "
                           "(2, 'b'), (2, 'c'), (2, NULL);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
  }
  void TearDown() override { sqlite3_close(db_); }

  // The first column of the first row, or the error text.
  std::string value(const std::string& sql) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
      return std::string("error: ") + sqlite3_errmsg(db_);
    }
    int code = sqlite3_step(statement);
    std::string out;
    if (code == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(statement, 0);
      out = text ? reinterpret_cast<const char*>(text) : "NULL";
    } else if (code != SQLITE_DONE) {
      out = std::string("error: ") + sqlite3_errmsg(db_);
    }
    sqlite3_finalize(statement);
    return out;
  }

  sqlite3* db_ = nullptr;
};

TEST_F(SketchSqlTest, PerGroupSketchesMergeIntoTheDistinctCount) {
  // Group 1 saw a and b, group 2 saw b and c (and a NULL, which is no peer).
  ASSERT_EQ(sqlite3_exec(db_, "CREATE TABLE g AS SELECT g, sketch_of(v) AS s FROM t GROUP BY g",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_EQ(value("SELECT sketch_count(s) FROM g WHERE g = 1"), "2");
  EXPECT_EQ(value("SELECT sketch_count(s) FROM g"), "3");
  EXPECT_EQ(value("SELECT sketch_count(u) FROM (SELECT sketch_union(s) AS u FROM g)"), "3");
  EXPECT_EQ(value("SELECT sketch_count(sketch_merge(a.s, b.s)) FROM g a, g b "
                  "WHERE a.g = 1 AND b.g = 2"),
            "3");
  EXPECT_EQ(value("SELECT sketch_merge(NULL, NULL) IS NULL"), "1");
  EXPECT_EQ(value("SELECT sketch_count(s) FROM g WHERE g = 99"), "0");  // no rows
}

TEST_F(SketchSqlTest, AGarbledBlobFailsTheStatementWithoutACrash) {
  EXPECT_EQ(value("SELECT sketch_count(x'0102') FROM t"),
            "error: not a peer sketch (malformed BLOB)");
  EXPECT_EQ(value("SELECT sketch_count('text')"), "error: not a peer sketch (expected a BLOB)");
  EXPECT_EQ(value("SELECT sketch_merge(x'02', NULL)"), "error: not a peer sketch (malformed BLOB)");
  EXPECT_EQ(value("SELECT sketch_count(zeroblob(2050))"),
            "error: not a peer sketch (malformed BLOB)");
}

}  // namespace
}  // namespace spamtap
