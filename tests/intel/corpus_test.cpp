// The real lists of the developer corpus, read in place. Expected counts come from
// MANIFEST.md or are computed here with grep/awk/python, independently of the parsers.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "intel/blocklist_set.hpp"

namespace spamtap::intel {
namespace {

const std::string kDirectory = SPAMTAP_CORPUS_DIR "/blocklists";

std::string corpus_path(const std::string& file) { return kDirectory + "/" + file; }

// Runs a shell pipeline over a corpus file (paths are fixed strings from this test).
long count_with(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), &pclose);
  if (!pipe) return -1;
  long value = -1;
  if (std::fscanf(pipe.get(), "%ld", &value) != 1) return -1;
  return value;
}

std::string first_line_of(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), &pclose);
  if (!pipe) return {};
  char buffer[256] = {};
  if (!std::fgets(buffer, sizeof buffer, pipe.get())) return {};
  std::string line(buffer);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

class CorpusList : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::is_directory(kDirectory)) {
      GTEST_SKIP() << "corpus blocklists not found at " << kDirectory;
    }
  }

  Blocklist load(const std::string& file, const std::string& categories = "") {
    BlocklistSource source;
    source.name = file;
    source.path = corpus_path(file);
    if (!categories.empty()) source.categories_path = corpus_path(categories);
    std::string error;
    auto list = load_blocklist(source, &error);
    EXPECT_TRUE(list) << error;
    return list ? std::move(*list) : Blocklist{};
  }

  static size_t ipv6_entries(const Blocklist& list) {
    size_t count = 0;
    for (const auto& entry : list.entries) count += entry.network.network.is_v6();
    return count;
  }
};

TEST_F(CorpusList, FireholNetsets) {
  struct Case {
    const char* file;
    long manifest;
  };
  for (auto [file, manifest] : {Case{"spamhaus_drop.netset", 683},
                                Case{"spamhaus_edrop.netset", 63}, Case{"dshield.netset", 20}}) {
    auto list = load(file);
    long counted = count_with("grep -cv -e '^#' -e '^$' '" + corpus_path(file) + "'");
    EXPECT_EQ(list.info.format, BlocklistFormat::kFirehol) << file;
    EXPECT_EQ(static_cast<long>(list.info.counts.entries), manifest) << file;
    EXPECT_EQ(static_cast<long>(list.info.counts.entries), counted) << file;
    EXPECT_EQ(list.info.counts.bad_lines, 0u) << file;
  }
}

TEST_F(CorpusList, SpamhausDropText) {
  auto list = load("spamhaus_drop_2025-01-17.txt");
  EXPECT_EQ(list.info.format, BlocklistFormat::kSpamhausDrop);
  EXPECT_EQ(list.info.counts.entries, 1385u);
  EXPECT_EQ(list.info.counts.bad_lines, 0u);
  EXPECT_EQ(list.info.counts.lines - list.info.counts.entries, 5u);  // comment lines
  for (const auto& entry : list.entries) {
    ASSERT_EQ(entry.label.substr(0, 3), "SBL") << entry.network.to_string();
  }
  EXPECT_EQ(list.entries.front().network.to_string(), "1.10.16.0/20");
  EXPECT_EQ(list.entries.front().label, "SBL256894");
}

TEST_F(CorpusList, SpamhausDropV6) {
  auto list = load("spamhaus_dropv6_2025-01-15.txt");
  EXPECT_EQ(list.info.format, BlocklistFormat::kSpamhausDrop);
  EXPECT_EQ(list.info.counts.entries, 78u);
  EXPECT_EQ(ipv6_entries(list), 78u);
  EXPECT_EQ(list.info.counts.bad_lines, 0u);
  long counted = count_with("grep -c '; SBL' '" + corpus_path("spamhaus_dropv6_2025-01-15.txt") +
                            "'");
  EXPECT_EQ(static_cast<long>(list.info.counts.entries), counted);
}

TEST_F(CorpusList, SpamhausEdropAndMergedStub) {
  auto edrop = load("spamhaus_edrop_2023-12-01.txt");
  EXPECT_EQ(edrop.info.counts.entries, 289u);
  EXPECT_EQ(edrop.info.counts.bad_lines, 0u);

  auto stub = load("spamhaus_edrop_2024-10-18_merged_stub.txt");
  EXPECT_EQ(stub.info.format, BlocklistFormat::kSpamhausDrop);
  EXPECT_EQ(stub.info.counts.entries, 0u);
  EXPECT_EQ(stub.info.counts.bad_lines, 0u);
  EXPECT_TRUE(stub.warnings.empty());
}

TEST_F(CorpusList, SpamhausDropJson) {
  auto list = load("spamhaus_drop_v4_2025-04-15.json");
  EXPECT_EQ(list.info.format, BlocklistFormat::kSpamhausDropJson);
  EXPECT_EQ(list.info.counts.entries, 1406u);  // MANIFEST, and the metadata line agrees
  EXPECT_EQ(list.info.counts.bad_lines, 0u);
  EXPECT_TRUE(list.warnings.empty()) << list.warnings.front().to_string();
  long counted = count_with("grep -c '\"cidr\"' '" +
                            corpus_path("spamhaus_drop_v4_2025-04-15.json") + "'");
  EXPECT_EQ(static_cast<long>(list.info.counts.entries), counted);
}

TEST_F(CorpusList, EmergingThreatsBlockIps) {
  auto list = load("et_emerging-Block-IPs_rev5793.txt");
  EXPECT_EQ(list.info.format, BlocklistFormat::kEmergingThreats);
  EXPECT_EQ(list.info.counts.entries, 2116u);
  EXPECT_EQ(list.info.counts.bad_lines, 0u);
  EXPECT_EQ(list.info.counts.private_entries, 1u);  // 192.168.1.101 in the Feodo section
  long counted = count_with("grep -cE '^[0-9]' '" +
                            corpus_path("et_emerging-Block-IPs_rev5793.txt") + "'");
  EXPECT_EQ(static_cast<long>(list.info.counts.entries), counted);
}

TEST_F(CorpusList, EmergingThreatsCompromisedIps) {
  auto list = load("et_compromised-ips_2026-08-21.txt");
  EXPECT_EQ(list.info.counts.entries, 539u);
  EXPECT_EQ(list.info.counts.bad_lines, 0u);
}

TEST_F(CorpusList, SuricataIprepWithCategories) {
  auto list = load("suricata_iprep_scirius-iprep.list", "suricata_iprep_scirius-categories.txt");
  EXPECT_EQ(list.info.format, BlocklistFormat::kSuricataIprep);
  EXPECT_EQ(list.info.counts.bad_lines, 0u);
  EXPECT_TRUE(list.warnings.empty());

  // 27533 data lines (MANIFEST); an address listed under several categories is one entry.
  const std::string file = corpus_path("suricata_iprep_scirius-iprep.list");
  EXPECT_EQ(list.info.counts.entries + list.info.counts.duplicates, 27533u);
  long unique = count_with(
      "python3 -c 'import ipaddress,sys\n"
      "print(len({ipaddress.ip_network(l.split(\",\")[0], strict=False)\n"
      "  for l in open(sys.argv[1]) if l.strip() and not l.startswith(\"#\")}))' '" +
      file + "'");
  if (unique < 0) GTEST_SKIP() << "python3 not available to count unique networks";
  EXPECT_EQ(static_cast<long>(list.info.counts.entries), unique);
  long unique_v6 = count_with(
      "python3 -c 'import ipaddress,sys\n"
      "print(len({ipaddress.ip_network(l.split(\",\")[0], strict=False)\n"
      "  for l in open(sys.argv[1]) if \":\" in l and not l.startswith(\"#\")}))' '" +
      file + "'");
  EXPECT_EQ(static_cast<long>(ipv6_entries(list)), unique_v6);
  // One IPv6 line is "2001:0470:73f7:…:0007/16": host bits set, normalized to 2001::/16.
  long host_bits = count_with(
      "python3 -c 'import ipaddress,sys\n"
      "print(sum(ipaddress.ip_network(l.split(\",\")[0], strict=False).network_address !=\n"
      "  ipaddress.ip_address(l.split(\",\")[0].split(\"/\")[0])\n"
      "  for l in open(sys.argv[1]) if l.strip() and not l.startswith(\"#\")))' '" +
      file + "'");
  EXPECT_EQ(static_cast<long>(list.info.counts.host_bits_normalized), host_bits);
  EXPECT_GE(host_bits, 1);

  // Categories are named from the categories file; 4.4.4.4 is the test entry (category 10).
  bool found = false;
  for (const auto& entry : list.entries) {
    if (entry.network.to_string() == "4.4.4.4/32") {
      found = true;
      EXPECT_EQ(entry.label, "ET DROP Dshield Block Listed Source, score 100");
    }
  }
  EXPECT_TRUE(found);

  // The zero-padded IPv6 form comes out normalized.
  std::string error;
  auto set = BlocklistSet::build({std::move(list)}, &error);
  ASSERT_TRUE(set) << error;
  std::string padded =
      first_line_of("grep -v '^#' '" + file + "' | cut -d, -f1 | grep -m1 ':0000:'");
  ASSERT_EQ(padded.size(), 39u) << padded;  // the fully expanded form
  auto matches = set->lookup(*IpAddress::parse(padded));
  ASSERT_EQ(matches.size(), 1u) << padded;
  EXPECT_EQ(matches[0].entry.to_string().find("0000"), std::string::npos);
  // "#8.8.8.8,10,100" is commented out, but the file lists 8.8.8.8 again further down.
  EXPECT_TRUE(set->contains_any(*IpAddress::parse("8.8.8.8")));
  EXPECT_FALSE(set->contains_any(*IpAddress::parse("192.0.2.1")));
  EXPECT_TRUE(set->contains_any(*IpAddress::parse("4.4.4.4")));
}

TEST_F(CorpusList, SuricataIprepSameAddressInTwoCategories) {
  auto list = load("suricata_iprep_scirius-iprep.list", "suricata_iprep_scirius-categories.txt");
  // 1.189.88.67 is listed under categories 3 and 4.
  for (const auto& entry : list.entries) {
    if (entry.network.to_string() != "1.189.88.67/32") continue;
    EXPECT_EQ(entry.label,
              "ET CINS Active Threat Intelligence Poor Reputation IP, score 100; "
              "ET 3CORESec Poor Reputation IP, score 100");
    return;
  }
  ADD_FAILURE() << "1.189.88.67 not loaded";
}

TEST_F(CorpusList, ZeekIntelFeeds) {
  auto abuse = load("zeek_intel_abuse-ch-ipblocklist.intel");
  EXPECT_EQ(abuse.info.format, BlocklistFormat::kZeekIntel);
  EXPECT_EQ(abuse.info.counts.entries, 3u);
  EXPECT_EQ(abuse.entries.at(0).label, "ABUSE-CH: BOTNET");

  auto donotice = load("zeek_intel_doc_donotice.txt");
  EXPECT_EQ(donotice.info.counts.entries, 1u);
  EXPECT_EQ(donotice.info.counts.skipped_indicators, 1u);
  EXPECT_EQ(donotice.entries.at(0).label, "source1: Sending phishing email");

  auto basic = load("zeek_intel_doc_basic.txt");
  EXPECT_EQ(basic.info.counts.entries, 0u);
  EXPECT_EQ(basic.info.counts.skipped_indicators, 1u);
  EXPECT_EQ(basic.info.counts.bad_lines, 0u);
}

// All corpus lists in one set, plus a small list of addresses from the SMTP traces so that
// capture addresses find a hit.
TEST_F(CorpusList, AllListsInOneSet) {
  std::vector<Blocklist> lists;
  for (const auto& entry : std::filesystem::directory_iterator(kDirectory)) {
    auto file = entry.path().filename().string();
    if (file == "suricata_iprep_scirius-categories.txt") continue;
    lists.push_back(load(file));
  }
  Blocklist traces;
  traces.info.name = "traces";
  traces.entries.push_back(BlocklistEntry{*Cidr::parse("178.63.41.150"), "test host"});
  traces.entries.push_back(BlocklistEntry{*Cidr::parse("217.12.11.0/24"), "test net"});
  lists.push_back(std::move(traces));

  std::string error;
  auto set = BlocklistSet::build(std::move(lists), &error);
  ASSERT_TRUE(set) << error;
  EXPECT_TRUE(set->contains_any(*IpAddress::parse("178.63.41.150")));
  EXPECT_TRUE(set->contains_any(*IpAddress::parse("217.12.11.66")));

  // 1.10.16.0/20 is in the 2025 DROP text and JSON lists.
  std::map<std::string, std::string> by_list;
  for (const Match& match : set->lookup(*IpAddress::parse("1.10.16.1"))) {
    by_list[set->lists()[match.list_index].name] = match.entry.to_string();
  }
  EXPECT_EQ(by_list["spamhaus_drop_2025-01-17.txt"], "1.10.16.0/20");
  EXPECT_EQ(by_list["spamhaus_drop_v4_2025-04-15.json"], "1.10.16.0/20");
  EXPECT_TRUE(set->contains_any(*IpAddress::parse("2001:678:6c4::1")));
}

}  // namespace
}  // namespace spamtap::intel
