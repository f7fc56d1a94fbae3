// Per-format parser tests on small hand-written inputs, one oddity at a time.
#include <gtest/gtest.h>

#include <string>

#include "intel/blocklist.hpp"

namespace spamtap::intel {
namespace {

Blocklist parse(std::string_view text, BlocklistFormat format = BlocklistFormat::kAuto,
                std::string_view path = "<memory>") {
  ParseOptions options;
  options.format = format;
  options.path = path;
  return parse_blocklist(text, options);
}

std::vector<std::string> networks(const Blocklist& list) {
  std::vector<std::string> out;
  for (const auto& entry : list.entries) out.push_back(entry.network.to_string());
  return out;
}

using Strings = std::vector<std::string>;

TEST(PlainList, AddressesCidrsCommentsBlankLinesCrlfAndTrailingSpaces) {
  auto list = parse(
      "# a comment\r\n"
      "; another comment\n"
      "\n"
      "192.0.2.1\r\n"
      "198.51.100.0/24   \n"
      "  203.0.113.7\t\n"
      "2001:db8::/32\n"
      "2001:DB8:0:0:0:0:0:1\n"
      "\r\n",
      BlocklistFormat::kPlain);
  EXPECT_EQ(networks(list), (Strings{"192.0.2.1/32", "198.51.100.0/24", "203.0.113.7/32",
                                     "2001:db8::/32", "2001:db8::1/128"}));
  EXPECT_EQ(list.info.counts.entries, 5u);
  EXPECT_EQ(list.info.counts.bad_lines, 0u);
  EXPECT_EQ(list.info.counts.lines, 9u);
  EXPECT_TRUE(list.warnings.empty());
}

TEST(PlainList, HostBitsAreClearedAndCounted) {
  auto list = parse("10.1.2.3/8\n2001:db8::1/32\n192.0.2.0/24\n", BlocklistFormat::kPlain);
  EXPECT_EQ(networks(list), (Strings{"10.0.0.0/8", "2001:db8::/32", "192.0.2.0/24"}));
  EXPECT_EQ(list.info.counts.host_bits_normalized, 2u);
}

TEST(PlainList, DuplicatesAreDroppedAndCountedButOverlapsKept) {
  auto list = parse("192.0.2.0/24\n192.0.2.0/24\n192.0.2.9/24\n192.0.2.7\n192.0.0.0/16\n",
                    BlocklistFormat::kPlain);
  EXPECT_EQ(networks(list), (Strings{"192.0.2.0/24", "192.0.2.7/32", "192.0.0.0/16"}));
  EXPECT_EQ(list.info.counts.duplicates, 2u);  // the host-bit form normalizes to a duplicate
  EXPECT_EQ(list.info.counts.host_bits_normalized, 1u);
}

TEST(PlainList, BadLinesBecomeWarningsWithPathAndLineNumber) {
  auto list = parse("192.0.2.1\nnot an address\n300.1.2.3\n192.0.2.0/33\n198.51.100.1\n",
                    BlocklistFormat::kPlain, "lists/mine.txt");
  EXPECT_EQ(list.info.counts.entries, 2u);
  EXPECT_EQ(list.info.counts.bad_lines, 3u);
  ASSERT_EQ(list.warnings.size(), 3u);
  EXPECT_EQ(list.warnings[0].path, "lists/mine.txt");
  EXPECT_EQ(list.warnings[0].line, 2u);
  EXPECT_EQ(list.warnings[1].line, 3u);
  EXPECT_EQ(list.warnings[2].line, 4u);
  EXPECT_NE(list.warnings[0].to_string().find("lists/mine.txt:2: "), std::string::npos);
}

TEST(PlainList, WarningsEscapeControlBytesAndAreCapped) {
  std::string text;
  for (int i = 0; i < 300; ++i) text += "bad\x1b[31m line\n";
  auto list = parse(text, BlocklistFormat::kPlain);
  EXPECT_EQ(list.info.counts.bad_lines, 300u);
  ASSERT_EQ(list.warnings.size(), kMaxWarnings);
  EXPECT_EQ(list.warnings[0].message.find('\x1b'), std::string::npos);
  EXPECT_NE(list.warnings[0].message.find("\\x1b"), std::string::npos);
}

TEST(PlainList, OverlongLineIsBad) {
  std::string text = "192.0.2.1\n" + std::string(10000, '1') + "\n192.0.2.2\n";
  auto list = parse(text, BlocklistFormat::kPlain);
  EXPECT_EQ(list.info.counts.entries, 2u);
  EXPECT_EQ(list.info.counts.bad_lines, 1u);
}

TEST(PlainList, RangesBecomeTheFewestCidrs) {
  auto list = parse("192.0.2.0-192.0.2.255\n198.51.100.1-198.51.100.6\n", BlocklistFormat::kPlain);
  EXPECT_EQ(networks(list), (Strings{"192.0.2.0/24", "198.51.100.1/32", "198.51.100.2/31",
                                     "198.51.100.4/31", "198.51.100.6/32"}));
}

TEST(PlainList, InlineCommentBecomesLabel) {
  auto list = parse("192.0.2.1 # seen spamming\n192.0.2.2;relay\n", BlocklistFormat::kPlain);
  ASSERT_EQ(list.entries.size(), 2u);
  EXPECT_EQ(list.entries[0].label, "seen spamming");
  EXPECT_EQ(list.entries[1].label, "relay");
}

TEST(PlainList, PrivateEntriesAreKeptAndCountedOrSkippedOnRequest) {
  const char* text = "192.168.1.101\n10.0.0.0/8\n222.222.222.222\nfd00::1\n";
  auto kept = parse(text, BlocklistFormat::kPlain);
  EXPECT_EQ(kept.info.counts.entries, 4u);
  EXPECT_EQ(kept.info.counts.private_entries, 3u);

  ParseOptions options;
  options.format = BlocklistFormat::kPlain;
  options.skip_private = true;
  auto skipped = parse_blocklist(text, options);
  EXPECT_EQ(networks(skipped), (Strings{"222.222.222.222/32"}));
  EXPECT_EQ(skipped.info.counts.private_entries, 3u);
}

TEST(PlainList, EmptyAndCommentOnlyInputsHaveNoEntriesAndNoWarnings) {
  for (std::string_view text : {"", "\n\n", "# nothing here\n", "\xEF\xBB\xBF"}) {
    auto list = parse(text);
    EXPECT_EQ(list.info.counts.entries, 0u);
    EXPECT_TRUE(list.warnings.empty());
  }
}

TEST(PlainList, ByteOrderMarkIsIgnored) {
  auto list = parse("\xEF\xBB\xBF" "192.0.2.1\n", BlocklistFormat::kPlain);
  EXPECT_EQ(networks(list), (Strings{"192.0.2.1/32"}));
}

TEST(SpamhausDrop, TextFormWithSblIdsCommentsAndEof) {
  auto list = parse(
      "; Spamhaus DROP List 2025/01/17 - (c) 2025 The Spamhaus Project SLU\n"
      "; Last-Modified: Fri, 17 Jan 2025 17:03:47 GMT\n"
      "1.10.16.0/20 ; SBL256894\r\n"
      "2.56.192.0/22;SBL459831   \n"
      "2001:678:6c4::/48 ; SBL626637\n"
      "5.42.92.1/24 ; SBL625300\n"
      "garbage ; SBL1\n"
      "; EOF\n");
  EXPECT_EQ(list.info.format, BlocklistFormat::kSpamhausDrop);
  EXPECT_EQ(networks(list), (Strings{"1.10.16.0/20", "2.56.192.0/22", "2001:678:6c4::/48",
                                     "5.42.92.0/24"}));
  EXPECT_EQ(list.entries[0].label, "SBL256894");
  EXPECT_EQ(list.entries[1].label, "SBL459831");
  EXPECT_EQ(list.info.counts.host_bits_normalized, 1u);
  EXPECT_EQ(list.info.counts.bad_lines, 1u);
  EXPECT_EQ(list.warnings.at(0).line, 7u);
}

TEST(SpamhausDrop, MergedStubHasZeroEntries) {
  auto list = parse(
      "; This list has been merged into https://www.spamhaus.org/drop/drop.txt\n"
      "; Spamhaus EDROP List 2024/10/18 - (c) 2024 The Spamhaus Project SLU\n"
      "; EOF\n");
  EXPECT_EQ(list.info.format, BlocklistFormat::kSpamhausDrop);
  EXPECT_EQ(list.info.counts.entries, 0u);
  EXPECT_EQ(list.info.counts.bad_lines, 0u);
}

TEST(SpamhausDropJson, ObjectsMetadataNullRirAndBadLines) {
  auto list = parse(
      "{\"cidr\":\"1.10.16.0/20\",\"sblid\":\"SBL256894\",\"rir\":\"apnic\"}\n"
      "{\"cidr\":\"2.56.192.0/22\",\"sblid\":\"SBL459831\",\"rir\":null}\r\n"
      "{\"cidr\":\"2001:db8::/32\",\"sblid\":\"SBL1\",\"rir\":\"ripencc\"}\n"
      "{\"sblid\":\"SBL2\"}\n"
      "{\"cidr\":\"1.2.3\",\"sblid\":\"SBL3\"}\n"
      "{not json\n"
      "{\"type\":\"metadata\",\"timestamp\":1744700000,\"size\":300,\"records\":5}\n");
  EXPECT_EQ(list.info.format, BlocklistFormat::kSpamhausDropJson);
  EXPECT_EQ(networks(list), (Strings{"1.10.16.0/20", "2.56.192.0/22", "2001:db8::/32"}));
  EXPECT_EQ(list.entries[1].label, "SBL459831");
  EXPECT_EQ(list.info.counts.bad_lines, 3u);
  // Five data objects, as the metadata says: no mismatch warning beyond the bad lines.
  EXPECT_EQ(list.warnings.size(), 3u);
}

TEST(SpamhausDropJson, MetadataRecordCountMismatchIsWarned) {
  auto list = parse(
      "{\"cidr\":\"1.10.16.0/20\",\"sblid\":\"SBL256894\",\"rir\":\"apnic\"}\n"
      "{\"type\":\"metadata\",\"records\":2}\n");
  EXPECT_EQ(list.info.counts.entries, 1u);
  EXPECT_EQ(list.info.counts.bad_lines, 0u);
  ASSERT_EQ(list.warnings.size(), 1u);
  EXPECT_EQ(list.warnings[0].line, 2u);
}

TEST(DshieldBlock, HandMadeFixture) {
  std::string error;
  BlocklistSource source;
  source.name = "dshield";
  source.path = SPAMTAP_SOURCE_DIR "/tests/intel/data/dshield_block.txt";
  auto list = load_blocklist(source, &error);
  ASSERT_TRUE(list) << error;
  EXPECT_EQ(list->info.format, BlocklistFormat::kDshieldBlock);
  EXPECT_EQ(networks(*list), (Strings{"192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",
                                      "100.64.10.0/23", "198.18.1.0/29", "198.18.1.8/31"}));
  EXPECT_EQ(list->entries[0].label, "EXAMPLE-NET-ONE ZZ, 3120 attacks");
  EXPECT_EQ(list->info.counts.duplicates, 1u);
  EXPECT_EQ(list->info.counts.bad_lines, 2u);
  EXPECT_EQ(list->info.counts.private_entries, 1u);  // 100.64.0.0/10 shared space
  EXPECT_EQ(list->info.counts.lines, 17u);
  ASSERT_EQ(list->warnings.size(), 2u);
  EXPECT_EQ(list->warnings[0].line, 15u);
  EXPECT_EQ(list->warnings[1].line, 16u);
}

TEST(DshieldBlock, SpacesInsteadOfTabsAndIpv6Range) {
  auto list = parse("192.0.2.0 192.0.2.255 24 5 NAME ZZ\n2001:db8::\t2001:db8::ffff\t112\n",
                    BlocklistFormat::kDshieldBlock);
  EXPECT_EQ(networks(list), (Strings{"192.0.2.0/24", "2001:db8::/112"}));
  EXPECT_EQ(list.info.counts.bad_lines, 0u);
}

TEST(DshieldBlock, BadNetblockColumnIsABadLine) {
  auto list = parse("192.0.2.0\t192.0.2.255\tforty\n", BlocklistFormat::kDshieldBlock);
  EXPECT_EQ(list.info.counts.entries, 0u);
  EXPECT_EQ(list.info.counts.bad_lines, 1u);
}

TEST(EmergingThreats, BlockIpsSectionsAddressesAndCidrs) {
  auto list = parse(
      "#\n"
      "# Emerging Threats fwip rules.\n"
      "#\n"
      "\n"
      "# Feodo\n"
      "192.0.2.1\n"
      "192.168.1.101\n"
      "\n"
      "#Spamhaus DROP Nets\n"
      "198.51.100.0/24\n"
      "#Dshield Top Attackers\n"
      "203.0.113.0/24\n");
  EXPECT_EQ(list.info.format, BlocklistFormat::kEmergingThreats);
  EXPECT_EQ(list.info.counts.entries, 4u);
  EXPECT_EQ(list.info.counts.private_entries, 1u);
}

TEST(EmergingThreats, CompromisedIpsOneAddressPerLine) {
  auto list = parse("101.100.216.61\n101.50.83.146\n101.96.192.88\n");
  EXPECT_EQ(list.info.format, BlocklistFormat::kPlain);
  EXPECT_EQ(list.info.counts.entries, 3u);
}

TEST(Firehol, NetsetHeaderAndExtension) {
  const char* text =
      "#\n# spamhaus_drop\n#\n# ipv4 hash:net ipset\n#\n1.10.16.0/20\n1.19.0.0/16\n";
  auto by_header = parse(text);
  EXPECT_EQ(by_header.info.format, BlocklistFormat::kFirehol);
  EXPECT_EQ(by_header.info.counts.entries, 2u);

  auto by_extension = parse("1.2.3.4\n", BlocklistFormat::kAuto, "x/y.ipset");
  EXPECT_EQ(by_extension.info.format, BlocklistFormat::kFirehol);
}

TEST(SuricataIprep, EntriesCategoriesScoresAndZeroPaddedIpv6) {
  IprepCategories categories = parse_iprep_categories(
      "1,2520000,ET TOR Known Tor Exit Node Traffic\n"
      "5,2400000,ET DROP Spamhaus DROP Listed Traffic Inbound, with a comma\n"
      "bad line\n",
      "cats.txt", nullptr);
  ASSERT_GE(categories.names.size(), 6u);
  EXPECT_EQ(categories.names[5], "ET DROP Spamhaus DROP Listed Traffic Inbound, with a comma");

  ParseOptions options;
  options.categories = &categories;
  auto list = parse_blocklist(
      "#8.8.8.8,10,100\n"
      "4.4.4.4,10,100\n"
      "104.244.72.152,1,100\r\n"
      "192.0.2.0/24, 5 , 90 \n"
      "2a01:04f8:0120:4023:0000:0000:0000:0110,5,100\n"
      "2a01:4f8:120:4023::110,5,100\n"
      "1.2.3.4,1\n"
      "1.2.3.4,1,200\n"
      "1.2.3.4,x,100\n",
      options);
  EXPECT_EQ(list.info.format, BlocklistFormat::kSuricataIprep);
  EXPECT_EQ(networks(list), (Strings{"4.4.4.4/32", "104.244.72.152/32", "192.0.2.0/24",
                                     "2a01:4f8:120:4023::110/128"}));
  EXPECT_EQ(list.entries[0].label, "category 10, score 100");
  EXPECT_EQ(list.entries[1].label, "ET TOR Known Tor Exit Node Traffic, score 100");
  EXPECT_EQ(list.info.counts.duplicates, 1u);  // padded and compressed forms are one address
  EXPECT_EQ(list.info.counts.bad_lines, 3u);
}

TEST(ZeekIntel, AddrAndSubnetUsedOthersSkippedAndCounted) {
  auto list = parse(
      "#separator \\x09\n"
      "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url\n"
      "192.0.2.1\tIntel::ADDR\tsource1\tSending phishing email\thttp://x/1\n"
      "a.b.com\tIntel::DOMAIN\tsource2\tName used for data exfiltration\t-\n"
      "198.51.100.0/24\tIntel::SUBNET\tsource3\t-\t-\n"
      "2001:db8::7\tIntel::ADDR\t-\t-\t-\n"
      "-\tIntel::ADDR\tsource4\t-\t-\n"
      "bogus\tIntel::ADDR\tsource5\t-\t-\n"
      "198.51.100.0/24\tIntel::ADDR\tsource6\t-\t-\n"
      "x@example.com\tIntel::EMAIL\tsource7\t-\t-\n");
  EXPECT_EQ(list.info.format, BlocklistFormat::kZeekIntel);
  EXPECT_EQ(networks(list), (Strings{"192.0.2.1/32", "198.51.100.0/24", "2001:db8::7/128"}));
  EXPECT_EQ(list.entries[0].label, "source1: Sending phishing email");
  EXPECT_EQ(list.entries[1].label, "source3");
  EXPECT_EQ(list.entries[2].label, "");
  EXPECT_EQ(list.info.counts.skipped_indicators, 2u);
  EXPECT_EQ(list.info.counts.bad_lines, 3u);
}

TEST(ZeekIntel, ColumnsFollowTheFieldsHeaderOrder) {
  auto list = parse(
      "#fields\tmeta.source\tindicator_type\tindicator\n"
      "feed\tIntel::ADDR\t192.0.2.9\n");
  EXPECT_EQ(networks(list), (Strings{"192.0.2.9/32"}));
  EXPECT_EQ(list.entries[0].label, "feed");
}

TEST(ZeekIntel, DataBeforeFieldsHeaderIsBad) {
  auto list = parse("192.0.2.1\tIntel::ADDR\tx\n", BlocklistFormat::kZeekIntel);
  EXPECT_EQ(list.info.counts.entries, 0u);
  EXPECT_EQ(list.info.counts.bad_lines, 1u);
}

TEST(FormatDetection, FromContentAndExtension) {
  EXPECT_EQ(detect_format("#fields\tindicator\n", ""), BlocklistFormat::kZeekIntel);
  EXPECT_EQ(detect_format("{\"cidr\":\"1.2.3.0/24\"}\n", ""), BlocklistFormat::kSpamhausDropJson);
  EXPECT_EQ(detect_format("1.2.3.0/24 ; SBL1\n", ""), BlocklistFormat::kSpamhausDrop);
  EXPECT_EQ(detect_format("1.2.3.4,1,100\n", ""), BlocklistFormat::kSuricataIprep);
  EXPECT_EQ(detect_format("1.2.3.0\t1.2.3.255\t24\n", ""), BlocklistFormat::kDshieldBlock);
  EXPECT_EQ(detect_format("1.2.3.4\n", "a.txt"), BlocklistFormat::kPlain);
  EXPECT_EQ(detect_format("", "a.netset"), BlocklistFormat::kFirehol);
  EXPECT_EQ(detect_format("", "feed.intel"), BlocklistFormat::kZeekIntel);
  EXPECT_EQ(detect_format("# only a comment\n", "drop.json"), BlocklistFormat::kSpamhausDropJson);
}

TEST(FormatDetection, ExplicitFormatWins) {
  auto list = parse("1.2.3.4,1,100\n", BlocklistFormat::kPlain);
  EXPECT_EQ(list.info.format, BlocklistFormat::kPlain);
  EXPECT_EQ(list.info.counts.bad_lines, 1u);
}

TEST(FormatNames, RoundTrip) {
  for (auto format : {BlocklistFormat::kAuto, BlocklistFormat::kPlain, BlocklistFormat::kFirehol,
                      BlocklistFormat::kEmergingThreats, BlocklistFormat::kSpamhausDrop,
                      BlocklistFormat::kSpamhausDropJson, BlocklistFormat::kDshieldBlock,
                      BlocklistFormat::kSuricataIprep, BlocklistFormat::kZeekIntel}) {
    EXPECT_EQ(parse_format_name(format_name(format)), format);
  }
  EXPECT_FALSE(parse_format_name("csv"));
}

TEST(BlocklistOption, NameAndPath) {
  std::string error;
  auto source = parse_blocklist_option("drop=/var/lib/lists/drop.txt", &error);
  ASSERT_TRUE(source) << error;
  EXPECT_EQ(source->name, "drop");
  EXPECT_EQ(source->path, "/var/lib/lists/drop.txt");
  EXPECT_EQ(source->weight, 1.0);
  EXPECT_EQ(source->format, BlocklistFormat::kAuto);
}

TEST(BlocklistOption, AllOptionsAndCommasInPath) {
  std::string error;
  auto source = parse_blocklist_option(
      "rep=/data/a,b.list,category=reputation,weight=2.5,format=suricata-iprep,"
      "categories=/data/cats.txt,private=skip",
      &error);
  ASSERT_TRUE(source) << error;
  EXPECT_EQ(source->path, "/data/a,b.list");
  EXPECT_EQ(source->category, "reputation");
  EXPECT_EQ(source->weight, 2.5);
  EXPECT_EQ(source->format, BlocklistFormat::kSuricataIprep);
  EXPECT_EQ(source->categories_path, "/data/cats.txt");
  EXPECT_TRUE(source->skip_private);
}

TEST(BlocklistOption, Rejects) {
  std::string error;
  for (const char* bad : {"nopath", "=x.txt", "name=", "a b=x.txt", "n=x,weight=-1",
                          "n=x,weight=abc", "n=x,format=csv", "n=x,private=maybe",
                          "n=x,weight=1,colour=red"}) {
    error.clear();
    EXPECT_FALSE(parse_blocklist_option(bad, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(LoadBlocklist, UnreadableFileIsAnError) {
  std::string error;
  BlocklistSource source;
  source.name = "missing";
  source.path = "/nonexistent/dir/list.txt";
  EXPECT_FALSE(load_blocklist(source, &error));
  EXPECT_NE(error.find("/nonexistent/dir/list.txt"), std::string::npos);

  source.path = SPAMTAP_SOURCE_DIR "/tests/intel";  // a directory
  error.clear();
  EXPECT_FALSE(load_blocklist(source, &error));
  EXPECT_FALSE(error.empty());
}

TEST(LoadBlocklist, MissingCategoriesFileIsAnError) {
  std::string error;
  BlocklistSource source;
  source.name = "rep";
  source.path = SPAMTAP_SOURCE_DIR "/tests/intel/data/dshield_block.txt";
  source.categories_path = "/nonexistent/cats.txt";
  EXPECT_FALSE(load_blocklist(source, &error));
  EXPECT_NE(error.find("cats.txt"), std::string::npos);
}

}  // namespace
}  // namespace spamtap::intel
