// Matching over many lists at once: nesting across lists, range edges, IPv6, reload.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "intel/blocklist_set.hpp"

namespace spamtap::intel {
namespace {

Blocklist make_list(std::string name, std::vector<std::pair<std::string, std::string>> entries) {
  Blocklist list;
  list.info.name = std::move(name);
  for (auto& [text, label] : entries) {
    auto cidr = Cidr::parse(text);
    EXPECT_TRUE(cidr) << text;
    list.entries.push_back(BlocklistEntry{*cidr, label});
  }
  return list;
}

std::shared_ptr<const BlocklistSet> build(std::vector<Blocklist> lists) {
  std::string error;
  auto set = BlocklistSet::build(std::move(lists), &error);
  EXPECT_TRUE(set) << error;
  return set;
}

IpAddress address(std::string_view text) {
  auto parsed = IpAddress::parse(text);
  EXPECT_TRUE(parsed) << text;
  return parsed.value_or(IpAddress{});
}

// "list:entry" for every match, in list order.
std::vector<std::string> describe(const BlocklistSet& set, std::string_view text) {
  std::vector<std::string> out;
  for (const Match& match : set.lookup(address(text))) {
    out.push_back(set.lists()[match.list_index].name + ":" + match.entry.to_string());
  }
  return out;
}

using Strings = std::vector<std::string>;

class NestedLists : public ::testing::Test {
 protected:
  void SetUp() override {
    set_ = build({
        make_list("wide", {{"10.0.0.0/8", "eight"}, {"10.1.2.0/24", "twenty-four"}}),
        make_list("mid", {{"10.1.0.0/16", "sixteen"}}),
        make_list("host", {{"10.1.2.3/32", "host"}}),
        make_list("v6", {{"2001:db8::/32", "doc"}, {"2001:db8:1::/48", "doc-1"}}),
    });
  }
  std::shared_ptr<const BlocklistSet> set_;
};

TEST_F(NestedLists, EveryListWithItsMostSpecificEntry) {
  EXPECT_EQ(describe(*set_, "10.1.2.3"),
            (Strings{"wide:10.1.2.0/24", "mid:10.1.0.0/16", "host:10.1.2.3/32"}));
  EXPECT_EQ(describe(*set_, "10.1.2.4"), (Strings{"wide:10.1.2.0/24", "mid:10.1.0.0/16"}));
  EXPECT_EQ(describe(*set_, "10.1.3.0"), (Strings{"wide:10.0.0.0/8", "mid:10.1.0.0/16"}));
  EXPECT_EQ(describe(*set_, "10.2.0.0"), (Strings{"wide:10.0.0.0/8"}));
}

TEST_F(NestedLists, FirstAndLastAddressesAndJustOutside) {
  EXPECT_EQ(describe(*set_, "10.0.0.0"), (Strings{"wide:10.0.0.0/8"}));
  EXPECT_EQ(describe(*set_, "10.255.255.255"), (Strings{"wide:10.0.0.0/8"}));
  EXPECT_TRUE(describe(*set_, "9.255.255.255").empty());
  EXPECT_TRUE(describe(*set_, "11.0.0.0").empty());
  EXPECT_EQ(describe(*set_, "10.1.2.0").size(), 2u);
  EXPECT_EQ(describe(*set_, "10.1.2.255").size(), 2u);
  EXPECT_EQ(describe(*set_, "10.1.1.255"), (Strings{"wide:10.0.0.0/8", "mid:10.1.0.0/16"}));
  EXPECT_EQ(describe(*set_, "10.1.3.0"), (Strings{"wide:10.0.0.0/8", "mid:10.1.0.0/16"}));
  EXPECT_EQ(describe(*set_, "10.0.255.255"), (Strings{"wide:10.0.0.0/8"}));
  EXPECT_EQ(describe(*set_, "10.2.0.0"), (Strings{"wide:10.0.0.0/8"}));
}

TEST_F(NestedLists, Ipv6) {
  EXPECT_EQ(describe(*set_, "2001:db8:1::5"), (Strings{"v6:2001:db8:1::/48"}));
  EXPECT_EQ(describe(*set_, "2001:db8:2::5"), (Strings{"v6:2001:db8::/32"}));
  EXPECT_EQ(describe(*set_, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"),
            (Strings{"v6:2001:db8::/32"}));
  EXPECT_TRUE(describe(*set_, "2001:db9::").empty());
  EXPECT_TRUE(describe(*set_, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff").empty());
  // An IPv4 address never matches an IPv6 entry and the other way round.
  EXPECT_TRUE(describe(*set_, "::a01:203").empty());
}

TEST_F(NestedLists, LabelsAndContainsAny) {
  auto matches = set_->lookup(address("10.1.2.3"));
  ASSERT_EQ(matches.size(), 3u);
  EXPECT_EQ(matches[0].entry_label, "twenty-four");
  EXPECT_EQ(matches[1].entry_label, "sixteen");
  EXPECT_EQ(matches[2].entry_label, "host");
  EXPECT_TRUE(set_->contains_any(address("10.200.0.1")));
  EXPECT_FALSE(set_->contains_any(address("192.0.2.1")));
  EXPECT_TRUE(set_->contains_any_v4(0x0A010203));
  EXPECT_EQ(set_->lookup_v4(0x0A010203).size(), 3u);
  EXPECT_EQ(set_->entry_count(), 6u);
}

TEST(BlocklistSet, WholeSpaceAndTopAddresses) {
  auto set = build({
      make_list("all", {{"0.0.0.0/0", ""}, {"::/0", ""}}),
      make_list("top", {{"255.255.255.255/32", ""},
                        {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""}}),
  });
  EXPECT_EQ(describe(*set, "0.0.0.0"), (Strings{"all:0.0.0.0/0"}));
  EXPECT_EQ(describe(*set, "255.255.255.254"), (Strings{"all:0.0.0.0/0"}));
  EXPECT_EQ(describe(*set, "255.255.255.255"),
            (Strings{"all:0.0.0.0/0", "top:255.255.255.255/32"}));
  EXPECT_EQ(describe(*set, "::"), (Strings{"all:::/0"}));
  EXPECT_EQ(describe(*set, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            (Strings{"all:::/0", "top:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"}));
}

TEST(BlocklistSet, EmptySetAndEmptyLists) {
  auto set = build({make_list("stub", {})});
  EXPECT_FALSE(set->contains_any(address("1.2.3.4")));
  EXPECT_FALSE(set->contains_any(address("2001:db8::1")));
  EXPECT_TRUE(set->lookup(address("1.2.3.4")).empty());
  auto none = build({});
  EXPECT_FALSE(none->contains_any(address("0.0.0.0")));
}

TEST(BlocklistSet, SameNetworkInTwoLists) {
  auto set = build(
      {make_list("a", {{"192.0.2.0/24", "x"}}), make_list("b", {{"192.0.2.0/24", "y"}})});
  EXPECT_EQ(describe(*set, "192.0.2.77"), (Strings{"a:192.0.2.0/24", "b:192.0.2.0/24"}));
}

TEST(BlocklistSet, DuplicateListNamesAreRefused) {
  std::string error;
  EXPECT_FALSE(BlocklistSet::build({make_list("a", {}), make_list("a", {})}, &error));
  EXPECT_NE(error.find("'a'"), std::string::npos);
}

TEST(BlocklistSet, DshieldRangeFromFixture) {
  BlocklistSource source;
  source.name = "dshield";
  source.path = SPAMTAP_SOURCE_DIR "/tests/intel/data/dshield_block.txt";
  std::string error;
  std::vector<LoadWarning> warnings;
  auto set = load_blocklist_set({source}, &error, &warnings);
  ASSERT_TRUE(set) << error;
  EXPECT_EQ(warnings.size(), 2u);

  // 198.18.1.0-198.18.1.9 is not a CIDR: it is held as /29 + /31.
  EXPECT_TRUE(set->contains_any(address("198.18.1.0")));
  EXPECT_TRUE(set->contains_any(address("198.18.1.9")));
  EXPECT_FALSE(set->contains_any(address("198.18.1.10")));
  EXPECT_FALSE(set->contains_any(address("198.18.0.255")));
  EXPECT_EQ(describe(*set, "198.18.1.8"), (Strings{"dshield:198.18.1.8/31"}));
  auto matches = set->lookup(address("203.0.113.200"));
  ASSERT_EQ(matches.size(), 1u);
  EXPECT_EQ(matches[0].entry_label, "ZERO-PADDED-NET ZZ, 77 attacks");
  EXPECT_FALSE(set->contains_any(address("203.0.114.0")));
  EXPECT_FALSE(set->contains_any(address("203.0.112.255")));
}

TEST(BlocklistSet, LoadSetFailsOnUnreadableList) {
  BlocklistSource source;
  source.name = "gone";
  source.path = "/nonexistent/list.txt";
  std::string error;
  EXPECT_FALSE(load_blocklist_set({source}, &error, nullptr));
  EXPECT_NE(error.find("/nonexistent/list.txt"), std::string::npos);
}

// Many /32s in one /16 make a large second-level chunk.
TEST(BlocklistSet, DenseChunk) {
  Blocklist list;
  list.info.name = "dense";
  for (uint32_t i = 0; i < 5000; i += 2) {
    list.entries.push_back(BlocklistEntry{Cidr{IpAddress::v4(0xC6120000u + i), 32}, ""});
  }
  auto set = build({std::move(list)});
  for (uint32_t i = 0; i < 5100; ++i) {
    EXPECT_EQ(set->contains_any_v4(0xC6120000u + i), i < 5000 && i % 2 == 0) << i;
  }
}

// Against a brute-force scan of every entry: random nested prefixes in a small space so
// that nesting, shared edges and duplicates across lists are common.
void check_against_brute_force(bool v6, uint32_t seed) {
  std::mt19937 random(seed);
  const int lists = 5;
  std::vector<Blocklist> input(lists);
  for (int i = 0; i < lists; ++i) input[i].info.name = "list" + std::to_string(i);

  auto random_address = [&] {
    uint8_t bytes[16] = {};
    if (v6) {
      bytes[0] = 0x20;
      bytes[1] = 0x01;
      bytes[2] = static_cast<uint8_t>(random() % 2);
      for (int b = 3; b < 16; ++b) bytes[b] = static_cast<uint8_t>(random() % 4);
      return IpAddress::v6_bytes(bytes);
    }
    uint32_t value = 0xC0000000u | (random() % 4) << 16 | (random() % 256) << 8 | random() % 256;
    return IpAddress::v4(value);
  };
  for (int n = 0; n < 3000; ++n) {
    int width = v6 ? 128 : 32;
    int low = v6 ? 14 : 12;
    int length = low + static_cast<int>(random() % (width - low + 1));
    auto text = random_address().to_string() + "/" + std::to_string(length);
    auto& list = input[random() % lists];
    auto cidr = Cidr::parse(text);
    bool exists = false;
    for (const auto& entry : list.entries) {
      exists |= entry.network.network == cidr->network &&
                entry.network.prefix_length == cidr->prefix_length;
    }
    if (!exists) list.entries.push_back(BlocklistEntry{*cidr, text});
  }
  auto copy = input;
  auto set = build(std::move(copy));

  for (int n = 0; n < 20000; ++n) {
    IpAddress probe = random_address();
    std::vector<std::string> expected;
    for (int i = 0; i < lists; ++i) {
      const BlocklistEntry* best = nullptr;
      for (const auto& entry : input[i].entries) {
        if (entry.network.contains(probe) &&
            (!best || entry.network.prefix_length > best->network.prefix_length)) {
          best = &entry;
        }
      }
      if (best) expected.push_back(input[i].info.name + ":" + best->network.to_string());
    }
    std::vector<std::string> got;
    for (const Match& match : set->lookup(probe)) {
      got.push_back(set->lists()[match.list_index].name + ":" + match.entry.to_string());
    }
    ASSERT_EQ(got, expected) << probe.to_string();
    ASSERT_EQ(set->contains_any(probe), !expected.empty());
  }
}

TEST(BlocklistSet, MatchesBruteForceIpv4) { check_against_brute_force(false, 1); }
TEST(BlocklistSet, MatchesBruteForceIpv6) { check_against_brute_force(true, 2); }

TEST(BlocklistSetHolder, ReadersSeeOneWholeSetDuringReloads) {
  BlocklistSetHolder holder(build({make_list("a", {{"192.0.2.0/24", "v1"}})}));
  std::atomic<bool> stop{false};
  std::atomic<size_t> hits{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto set = holder.load();
        auto matches = set->lookup(IpAddress::v4(0xC0000201u));
        if (matches.size() == 1 && (matches[0].entry_label == "v1" ||
                                    matches[0].entry_label == "v2")) {
          hits.fetch_add(1);
        }
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    holder.store(build({make_list("a", {{"192.0.2.0/24", i % 2 ? "v1" : "v2"}})}));
  }
  stop = true;
  for (auto& reader : readers) reader.join();
  EXPECT_GT(hits.load(), 0u);
  EXPECT_EQ(holder.load()->lookup(IpAddress::v4(0xC0000201u))[0].entry_label, "v1");
}

}  // namespace
}  // namespace spamtap::intel
