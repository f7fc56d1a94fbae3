// Blocklists: files of bad addresses and networks published by others (Spamhaus, DShield,
// Emerging Threats, FireHOL, Suricata iprep exports, Zeek intel feeds) or kept by the
// operator. This header reads them: text in, one `Blocklist` out, with every entry as a
// normalized `Cidr` plus a short label (an SBL id, a category, a feed description).
//
// Reading never throws on bad content. A line that cannot be understood becomes a
// `LoadWarning` (file, line number, reason) and is skipped; only a file that cannot be
// read at all is an error. A list with no entries (for example the Spamhaus EDROP stub
// left after EDROP was merged into DROP) loads fine with zero entries.
//
// Matching lives in blocklist_set.hpp: many lists are folded into one immutable
// `BlocklistSet` that answers "which lists hold this address".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/address.hpp"

namespace spamtap::intel {

enum class BlocklistFormat {
  kAuto,              // decide from the content, with the file extension as a hint
  kPlain,             // one address, CIDR or "first-last" range a line; '#' and ';' comments
  kFirehol,           // FireHOL .ipset/.netset: a plain list with a '#' header
  kEmergingThreats,   // ET compromised-ips.txt and emerging-Block-IPs.txt: plain lists
  kSpamhausDrop,      // "CIDR ; SBLnnn" with ';' comments (DROP, DROPv6, EDROP)
  kSpamhausDropJson,  // one JSON object a line: {"cidr":…,"sblid":…,"rir":…} + metadata
  kDshieldBlock,      // DShield block.txt: Start<TAB>End<TAB>Netblock<TAB>Attacks<TAB>…
  kSuricataIprep,     // "cidr,category,score"
  kZeekIntel,         // Zeek intel framework: "#fields" header, tab-separated columns
};

std::string_view format_name(BlocklistFormat format);
// Accepts the names printed by format_name ("spamhaus-drop", "zeek-intel", …) and "auto".
std::optional<BlocklistFormat> parse_format_name(std::string_view name);

struct BlocklistEntry {
  Cidr network;
  std::string label;  // SBL id, category name, feed description; may be empty
};

struct BlocklistCounts {
  size_t lines = 0;                 // lines read, comments and blanks included
  size_t entries = 0;               // entries kept (after duplicates were dropped)
  size_t bad_lines = 0;             // lines skipped with a warning
  size_t host_bits_normalized = 0;  // "10.0.0.1/8" kept as 10.0.0.0/8
  size_t duplicates = 0;            // same network listed again in the same list
  size_t skipped_indicators = 0;    // Zeek intel indicators that are not addresses
  size_t private_entries = 0;       // RFC 1918, loopback, link-local, ULA entries
};

struct LoadWarning {
  std::string path;  // the file, or "<memory>" when parsing text directly
  size_t line = 0;   // 1-based
  std::string message;

  std::string to_string() const;  // "path:line: message"
};

struct BlocklistInfo {
  std::string name;      // operator-given, unique within a set
  std::string category;  // operator-given ("spam", "botnet"), may be empty
  double weight = 1.0;   // operator-given, used by scoring
  BlocklistFormat format = BlocklistFormat::kAuto;  // the format actually parsed
  std::string path;
  BlocklistCounts counts;
};

struct Blocklist {
  BlocklistInfo info;
  std::vector<BlocklistEntry> entries;  // in file order, no exact duplicates
  std::vector<LoadWarning> warnings;    // at most kMaxWarnings; counts.bad_lines has all
};

inline constexpr size_t kMaxWarnings = 100;
inline constexpr size_t kMaxLineLength = 4096;

// What the operator asked for: where the list is and how to name it.
struct BlocklistSource {
  std::string name;
  std::string path;
  std::string category;
  double weight = 1.0;
  BlocklistFormat format = BlocklistFormat::kAuto;
  std::string categories_path;  // Suricata iprep only: "id,short_name,description" file
  bool skip_private = false;    // drop entries inside private/loopback/link-local space
};

// "NAME=PATH[,category=C][,weight=W][,format=F][,categories=PATH][,private=keep|skip]".
// The path may itself hold commas; only trailing ",key=value" pieces with a known key are
// options. Returns nullopt with a message in `error` on bad syntax.
std::optional<BlocklistSource> parse_blocklist_option(std::string_view text, std::string* error);

// Suricata reputation categories: id -> "short_name description".
struct IprepCategories {
  std::vector<std::string> names;  // indexed by category id; empty when unknown
};
std::optional<IprepCategories> load_iprep_categories(const std::string& path, std::string* error,
                                                     std::vector<LoadWarning>* warnings);
IprepCategories parse_iprep_categories(std::string_view text, std::string_view path,
                                       std::vector<LoadWarning>* warnings);

// Picks a format from the first lines of `text`; `path` (may be empty) is a hint used when
// the content is not decisive, such as a list of comments only.
BlocklistFormat detect_format(std::string_view text, std::string_view path);

struct ParseOptions {
  BlocklistFormat format = BlocklistFormat::kAuto;
  std::string_view path = "<memory>";  // for warnings
  const IprepCategories* categories = nullptr;
  bool skip_private = false;
};

// Parses text already in memory. `info.name`, `category` and `weight` are left for the
// caller; `info.format` is the format parsed and `info.path` is `options.path`.
Blocklist parse_blocklist(std::string_view text, const ParseOptions& options);

// Reads and parses one file. Returns nullopt with a message in `error` when the file (or
// its categories file) cannot be read; bad lines are warnings, not errors.
std::optional<Blocklist> load_blocklist(const BlocklistSource& source, std::string* error);

// Whole file as bytes; nullopt with "path: reason" in `error` when it cannot be read.
std::optional<std::string> read_text_file(const std::string& path, std::string* error);

}  // namespace spamtap::intel
