#include "intel/blocklist.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "intel/range.hpp"

namespace spamtap::intel {
namespace {

std::string_view trim(std::string_view text) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char a = text[i];
    char b = prefix[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
    if (a != b) return false;
  }
  return true;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// Splits on one separator character, keeping empty fields.
std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> fields;
  while (true) {
    auto at = text.find(separator);
    fields.push_back(text.substr(0, at));
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + 1);
  }
  return fields;
}

// Splits on runs of spaces and tabs.
std::vector<std::string_view> split_whitespace(std::string_view text) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    if (i > start) fields.push_back(text.substr(start, i - start));
  }
  return fields;
}

template <typename Integer>
std::optional<Integer> parse_integer(std::string_view text) {
  Integer value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

// Lines from files are hostile: keep warnings printable and short.
std::string excerpt(std::string_view line) {
  constexpr size_t kMaxExcerpt = 60;
  std::string out;
  for (size_t i = 0; i < line.size() && i < kMaxExcerpt; ++i) {
    auto c = static_cast<unsigned char>(line[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    }
  }
  if (line.size() > kMaxExcerpt) out += "...";
  return out;
}

bool is_private(const Cidr& cidr) {
  static const std::vector<Cidr> home = default_home_networks();
  for (const auto& network : home) {
    if (network.prefix_length <= cidr.prefix_length && network.contains(cidr.network)) {
      return true;
    }
  }
  return false;
}

struct CidrKey {
  IpAddress network;
  int prefix_length;
  friend bool operator==(const CidrKey&, const CidrKey&) = default;
};
struct CidrKeyHash {
  size_t operator()(const CidrKey& key) const {
    return key.network.hash() ^ (static_cast<uint64_t>(key.prefix_length) * 0x9E3779B97F4A7C15ULL);
  }
};

// Walks the text line by line and collects entries; one method per format.
class Parser {
 public:
  Parser(const ParseOptions& options, Blocklist& out) : options_(options), out_(out) {
    out_.info.path = std::string(options.path);
  }

  void run(std::string_view text, BlocklistFormat format) {
    if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    out_.info.format = format;
    while (!text.empty()) {
      auto newline = text.find('\n');
      std::string_view raw = text.substr(0, newline);
      text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
      ++line_number_;
      ++out_.info.counts.lines;

      if (raw.size() > kMaxLineLength) {
        bad_line(raw.substr(0, 60), "line longer than 4096 bytes");
        continue;
      }
      std::string_view line = trim(raw);
      if (line.empty()) continue;
      parse_line(line, format);
    }
    finish(format);
    out_.info.counts.entries = out_.entries.size();
  }

 private:
  void parse_line(std::string_view line, BlocklistFormat format) {
    switch (format) {
      case BlocklistFormat::kAuto:  // resolved by the caller; treat as plain
      case BlocklistFormat::kPlain:
      case BlocklistFormat::kFirehol:
      case BlocklistFormat::kEmergingThreats:
        return parse_plain(line);
      case BlocklistFormat::kSpamhausDrop:
        return parse_spamhaus_drop(line);
      case BlocklistFormat::kSpamhausDropJson:
        return parse_spamhaus_json(line);
      case BlocklistFormat::kDshieldBlock:
        return parse_dshield(line);
      case BlocklistFormat::kSuricataIprep:
        return parse_iprep(line);
      case BlocklistFormat::kZeekIntel:
        return parse_zeek(line);
    }
  }

  void finish(BlocklistFormat format) {
    if (format == BlocklistFormat::kSpamhausDropJson && metadata_records_ &&
        *metadata_records_ != json_records_) {
      warn(metadata_line_, "metadata says " + std::to_string(*metadata_records_) +
                               " records but the file holds " + std::to_string(json_records_));
    }
  }

  // Plain lists: "ADDRESS", "CIDR" or "FIRST-LAST", optionally followed by a comment or
  // a free-text label. Used for FireHOL and Emerging Threats lists too.
  void parse_plain(std::string_view line) {
    if (line.front() == '#' || line.front() == ';') return;
    size_t end = line.find_first_of(" \t;#");
    std::string_view token = line.substr(0, end);
    std::string_view label;
    if (end != std::string_view::npos) {
      label = line.substr(end);
      while (!label.empty() &&
             (label.front() == ' ' || label.front() == '\t' || label.front() == ';' ||
              label.front() == '#')) {
        label.remove_prefix(1);
      }
    }
    add_token(line, token, label);
  }

  // "1.10.16.0/20 ; SBL256894"
  void parse_spamhaus_drop(std::string_view line) {
    if (line.front() == ';' || line.front() == '#') return;
    auto semicolon = line.find(';');
    std::string_view network = trim(line.substr(0, semicolon));
    std::string_view label;
    if (semicolon != std::string_view::npos) label = trim(line.substr(semicolon + 1));
    if (network.find_first_of(" \t") != std::string_view::npos) {
      return bad_line(line, "expected 'CIDR ; SBLnnn'");
    }
    add_token(line, network, label);
  }

  void parse_spamhaus_json(std::string_view line) {
    if (line.front() == '#' || line.front() == ';') return;
    auto object = nlohmann::json::parse(line, nullptr, false);
    if (object.is_discarded() || !object.is_object()) return bad_line(line, "not a JSON object");

    auto type = object.find("type");
    if (type != object.end() && type->is_string() && *type == "metadata") {
      auto records = object.find("records");
      if (records != object.end() && records->is_number_unsigned()) {
        metadata_records_ = records->get<size_t>();
        metadata_line_ = line_number_;
      }
      return;
    }
    ++json_records_;

    auto cidr = object.find("cidr");
    if (cidr == object.end() || !cidr->is_string()) {
      return bad_line(line, "JSON object without a \"cidr\" string");
    }
    std::string label;
    auto sblid = object.find("sblid");
    if (sblid != object.end() && sblid->is_string()) label = sblid->get<std::string>();
    add_token(line, trim(cidr->get_ref<const std::string&>()), label);
  }

  // DShield addresses were once written zero-padded ("061.240.144.000"); those octets are
  // decimal, so the zeros are dropped before parsing.
  static std::optional<IpAddress> parse_dshield_address(std::string_view text) {
    if (auto address = IpAddress::parse(text)) return address;
    if (text.find(':') != std::string_view::npos || text.size() > 15) return std::nullopt;
    std::string cleaned;
    for (auto octet : split(text, '.')) {
      while (octet.size() > 1 && octet.front() == '0') octet.remove_prefix(1);
      if (!cleaned.empty()) cleaned.push_back('.');
      cleaned.append(octet);
    }
    return IpAddress::parse(cleaned);
  }

  // Start, End, Netblock (prefix length), Attacks, Name, Country, email.
  void parse_dshield(std::string_view line) {
    if (line.front() == '#') return;
    auto fields = line.find('\t') != std::string_view::npos ? split(line, '\t')
                                                             : split_whitespace(line);
    for (auto& field : fields) field = trim(field);
    if (starts_with_ignoring_case(fields[0], "start")) return;  // the column header row
    if (fields.size() < 2) return bad_line(line, "expected Start<TAB>End<TAB>Netblock");

    auto first = parse_dshield_address(fields[0]);
    auto last = parse_dshield_address(fields[1]);
    if (!first || !last) return bad_line(line, "start or end is not an address");
    if (first->is_v6() != last->is_v6() || *last < *first) {
      return bad_line(line, "end address before start address");
    }
    if (fields.size() >= 3 && !fields[2].empty()) {
      auto length = parse_integer<int>(fields[2]);
      if (!length || *length < 0 || *length > first->bit_width()) {
        return bad_line(line, "netblock is not a prefix length");
      }
    }

    std::string label;
    auto field = [&](size_t index) {
      return index < fields.size() && fields[index] != "-" ? fields[index] : std::string_view{};
    };
    for (auto part : {field(4), field(5)}) {
      if (part.empty()) continue;
      if (!label.empty()) label.push_back(' ');
      label.append(part);
    }
    if (!field(3).empty()) {
      if (!label.empty()) label += ", ";
      label.append(field(3));
      label += " attacks";
    }

    // The range is what the feed means; the netblock column only restates it.
    for (const auto& cidr : range_to_cidrs(*first, *last)) add_entry(cidr, label);
  }

  // "cidr,category,score", e.g. "1.2.3.4,1,100" or "2a01:04f8:…:0110,6,100".
  void parse_iprep(std::string_view line) {
    if (line.front() == '#') return;
    auto fields = split(line, ',');
    if (fields.size() != 3) return bad_line(line, "expected 'cidr,category,score'");
    for (auto& field : fields) field = trim(field);
    auto category = parse_integer<int>(fields[1]);
    auto score = parse_integer<int>(fields[2]);
    if (!category || *category < 0 || *category > 255) {
      return bad_line(line, "category is not a number from 0 to 255");
    }
    if (!score || *score < 0 || *score > 127) {
      return bad_line(line, "score is not a number from 0 to 127");
    }

    std::string label;
    const auto* names = options_.categories ? &options_.categories->names : nullptr;
    if (names && static_cast<size_t>(*category) < names->size() && !(*names)[*category].empty()) {
      label = (*names)[*category];
    } else {
      label = "category " + std::to_string(*category);
    }
    label += ", score " + std::to_string(*score);
    add_token(line, fields[0], label);
  }

  void parse_zeek(std::string_view line) {
    if (line.front() == '#') return parse_zeek_directive(line);
    if (!have_zeek_fields_) return bad_line(line, "data before the #fields header");
    if (zeek_indicator_column_ < 0 || zeek_type_column_ < 0) {
      return bad_line(line, "#fields names no indicator or indicator_type column");
    }

    auto fields = split(line, zeek_separator_);
    auto column = [&](int index) -> std::string_view {
      if (index < 0 || static_cast<size_t>(index) >= fields.size()) return {};
      auto value = trim(fields[index]);
      return value == "-" || value == "(empty)" ? std::string_view{} : value;
    };
    auto indicator = column(zeek_indicator_column_);
    auto type = column(zeek_type_column_);
    if (indicator.empty() || type.empty()) return bad_line(line, "empty indicator or type");

    bool is_address = type == "Intel::ADDR";
    bool is_subnet = type == "Intel::SUBNET";
    if (!is_address && !is_subnet) {
      ++out_.info.counts.skipped_indicators;
      return;
    }
    if (is_address && indicator.find('/') != std::string_view::npos) {
      return bad_line(line, "Intel::ADDR indicator holds a prefix");
    }

    std::string label;
    auto source = column(zeek_source_column_);
    auto description = column(zeek_description_column_);
    label.append(source);
    if (!description.empty()) {
      if (!label.empty()) label += ": ";
      label.append(description);
    }
    add_token(line, indicator, label);
  }

  void parse_zeek_directive(std::string_view line) {
    if (line.substr(0, 10) == "#separator") {
      auto value = trim(line.substr(10));
      if (value.size() == 4 && value.substr(0, 2) == "\\x") {
        if (auto byte = parse_hex_byte(value.substr(2))) zeek_separator_ = static_cast<char>(*byte);
      } else if (value.size() == 1) {
        zeek_separator_ = value[0];
      }
      return;
    }
    if (line.substr(0, 7) != "#fields") return;  // #types, #path, #open, #close, comments

    auto names = split(line, zeek_separator_);
    if (names.size() == 1) names = split_whitespace(line);  // spaces instead of tabs
    have_zeek_fields_ = true;
    zeek_indicator_column_ = zeek_type_column_ = -1;
    zeek_source_column_ = zeek_description_column_ = -1;
    for (size_t i = 1; i < names.size(); ++i) {
      auto name = trim(names[i]);
      int column = static_cast<int>(i) - 1;
      if (name == "indicator") zeek_indicator_column_ = column;
      if (name == "indicator_type") zeek_type_column_ = column;
      if (name == "meta.source") zeek_source_column_ = column;
      if (name == "meta.desc") zeek_description_column_ = column;
    }
  }

  static std::optional<int> parse_hex_byte(std::string_view text) {
    int value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
    if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
  }

  // One address, CIDR or "first-last" range.
  void add_token(std::string_view line, std::string_view token, std::string_view label) {
    bool host_bits = false;
    if (auto cidr = Cidr::parse(token, &host_bits)) {
      if (host_bits) ++out_.info.counts.host_bits_normalized;
      return add_entry(*cidr, label);
    }

    auto dash = token.find('-');
    if (dash != std::string_view::npos && token.find('/') == std::string_view::npos) {
      auto first = IpAddress::parse(trim(token.substr(0, dash)));
      auto last = IpAddress::parse(trim(token.substr(dash + 1)));
      if (first && last && first->is_v6() == last->is_v6() && !(*last < *first)) {
        for (const auto& cidr : range_to_cidrs(*first, *last)) add_entry(cidr, label);
        return;
      }
    }
    bad_line(line, "not an address, CIDR or range");
  }

  void add_entry(const Cidr& cidr, std::string_view label) {
    bool private_space = is_private(cidr);
    if (private_space && options_.skip_private) {
      ++out_.info.counts.private_entries;
      return;
    }
    auto [slot, inserted] =
        seen_.try_emplace(CidrKey{cidr.network, cidr.prefix_length}, out_.entries.size());
    if (!inserted) {
      // The same network again, e.g. an iprep address in a second category: keep one
      // entry and let its label name every category.
      ++out_.info.counts.duplicates;
      append_label(out_.entries[slot->second].label, label);
      return;
    }
    if (private_space) ++out_.info.counts.private_entries;
    out_.entries.push_back(BlocklistEntry{cidr, std::string(label)});
  }

  static void append_label(std::string& label, std::string_view more) {
    constexpr size_t kMaxLabel = 512;
    if (more.empty() || label.size() >= kMaxLabel) return;
    for (size_t at = label.find(more); at != std::string::npos; at = label.find(more, at + 1)) {
      bool starts = at == 0 || (at >= 2 && label.compare(at - 2, 2, "; ") == 0);
      bool ends = at + more.size() == label.size() || label[at + more.size()] == ';';
      if (starts && ends) return;  // already named
    }
    if (!label.empty()) label += "; ";
    label.append(more.substr(0, kMaxLabel - std::min(label.size(), kMaxLabel)));
  }

  void bad_line(std::string_view line, std::string_view reason) {
    ++out_.info.counts.bad_lines;
    warn(line_number_, std::string(reason) + ": \"" + excerpt(line) + "\"");
  }

  void warn(size_t line_number, std::string message) {
    if (out_.warnings.size() >= kMaxWarnings) return;
    out_.warnings.push_back(LoadWarning{std::string(options_.path), line_number,
                                        std::move(message)});
  }

  const ParseOptions& options_;
  Blocklist& out_;
  size_t line_number_ = 0;
  std::unordered_map<CidrKey, size_t, CidrKeyHash> seen_;  // -> index in entries

  std::optional<size_t> metadata_records_;
  size_t metadata_line_ = 0;
  size_t json_records_ = 0;

  bool have_zeek_fields_ = false;
  char zeek_separator_ = '\t';
  int zeek_indicator_column_ = -1;
  int zeek_type_column_ = -1;
  int zeek_source_column_ = -1;
  int zeek_description_column_ = -1;
};

constexpr std::pair<BlocklistFormat, std::string_view> kFormatNames[] = {
    {BlocklistFormat::kAuto, "auto"},
    {BlocklistFormat::kPlain, "plain"},
    {BlocklistFormat::kFirehol, "firehol"},
    {BlocklistFormat::kEmergingThreats, "emerging-threats"},
    {BlocklistFormat::kSpamhausDrop, "spamhaus-drop"},
    {BlocklistFormat::kSpamhausDropJson, "spamhaus-drop-json"},
    {BlocklistFormat::kDshieldBlock, "dshield"},
    {BlocklistFormat::kSuricataIprep, "suricata-iprep"},
    {BlocklistFormat::kZeekIntel, "zeek-intel"},
};

}  // namespace

std::string_view format_name(BlocklistFormat format) {
  for (const auto& [value, name] : kFormatNames) {
    if (value == format) return name;
  }
  return "unknown";
}

std::optional<BlocklistFormat> parse_format_name(std::string_view name) {
  for (const auto& [value, known] : kFormatNames) {
    if (known == name) return value;
  }
  return std::nullopt;
}

std::string LoadWarning::to_string() const {
  return path + ":" + std::to_string(line) + ": " + message;
}

BlocklistFormat detect_format(std::string_view text, std::string_view path) {
  constexpr int kLinesToLook = 200;
  bool firehol_header = false;
  bool emerging_threats_header = false;
  bool spamhaus_header = false;

  auto plain_kind = [&] {
    if (firehol_header || ends_with(path, ".netset") || ends_with(path, ".ipset")) {
      return BlocklistFormat::kFirehol;
    }
    if (emerging_threats_header) return BlocklistFormat::kEmergingThreats;
    return BlocklistFormat::kPlain;
  };

  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  for (int looked = 0; looked < kLinesToLook && !text.empty(); ++looked) {
    auto newline = text.find('\n');
    auto line = trim(text.substr(0, std::min(newline, kMaxLineLength)));
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (line.empty()) continue;

    if (line.substr(0, 7) == "#fields") return BlocklistFormat::kZeekIntel;
    if (line.front() == '#') {
      if (line.find("hash:net") != std::string_view::npos ||
          line.find("hash:ip") != std::string_view::npos) {
        firehol_header = true;
      }
      if (line.find("Emerging Threats") != std::string_view::npos) {
        emerging_threats_header = true;
      }
      continue;
    }
    if (line.front() == ';') {
      if (line.find("Spamhaus") != std::string_view::npos) spamhaus_header = true;
      continue;
    }

    if (line.front() == '{') return BlocklistFormat::kSpamhausDropJson;
    if (starts_with_ignoring_case(line, "start\tend")) return BlocklistFormat::kDshieldBlock;
    if (line.find('\t') != std::string_view::npos) {
      auto fields = split(line, '\t');
      if (fields.size() >= 3 && IpAddress::parse(trim(fields[0])) &&
          IpAddress::parse(trim(fields[1]))) {
        return BlocklistFormat::kDshieldBlock;
      }
    }
    if (auto semicolon = line.find(';'); semicolon != std::string_view::npos &&
                                         Cidr::parse(trim(line.substr(0, semicolon)))) {
      return BlocklistFormat::kSpamhausDrop;
    }
    if (auto fields = split(line, ','); fields.size() == 3 && Cidr::parse(trim(fields[0]))) {
      return BlocklistFormat::kSuricataIprep;
    }
    return plain_kind();
  }

  // Only comments, or nothing: the header and the extension decide.
  if (spamhaus_header) return BlocklistFormat::kSpamhausDrop;
  if (ends_with(path, ".json")) return BlocklistFormat::kSpamhausDropJson;
  if (ends_with(path, ".intel")) return BlocklistFormat::kZeekIntel;
  return plain_kind();
}

Blocklist parse_blocklist(std::string_view text, const ParseOptions& options) {
  Blocklist list;
  auto format = options.format == BlocklistFormat::kAuto ? detect_format(text, options.path)
                                                         : options.format;
  Parser(options, list).run(text, format);
  return list;
}

IprepCategories parse_iprep_categories(std::string_view text, std::string_view path,
                                       std::vector<LoadWarning>* warnings) {
  IprepCategories categories;
  size_t line_number = 0;
  while (!text.empty()) {
    auto newline = text.find('\n');
    auto line = trim(text.substr(0, newline));
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    ++line_number;
    if (line.empty() || line.front() == '#') continue;

    // The description may hold commas: only the first two separate fields.
    auto first_comma = line.find(',');
    auto second_comma =
        first_comma == std::string_view::npos ? first_comma : line.find(',', first_comma + 1);
    auto id = parse_integer<int>(trim(line.substr(0, first_comma)));
    if (second_comma == std::string_view::npos || !id || *id < 0 || *id > 255) {
      if (warnings) {
        warnings->push_back(LoadWarning{std::string(path), line_number,
                                        "expected 'id,short_name,description': \"" +
                                            excerpt(line) + "\""});
      }
      continue;
    }
    auto short_name = trim(line.substr(first_comma + 1, second_comma - first_comma - 1));
    auto description = trim(line.substr(second_comma + 1));
    if (categories.names.size() <= static_cast<size_t>(*id)) categories.names.resize(*id + 1);
    categories.names[*id] = std::string(description.empty() ? short_name : description);
  }
  return categories;
}

std::optional<std::string> read_text_file(const std::string& path, std::string* error) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) {
    if (error) *error = path + ": cannot open: " + std::strerror(errno);
    return std::nullopt;
  }
  std::string text;
  char buffer[65536];
  while (true) {
    size_t got = std::fread(buffer, 1, sizeof buffer, file.get());
    text.append(buffer, got);
    if (got < sizeof buffer) break;
  }
  if (std::ferror(file.get())) {
    if (error) *error = path + ": cannot read: " + std::strerror(errno);
    return std::nullopt;
  }
  return text;
}

std::optional<IprepCategories> load_iprep_categories(const std::string& path, std::string* error,
                                                     std::vector<LoadWarning>* warnings) {
  auto text = read_text_file(path, error);
  if (!text) return std::nullopt;
  return parse_iprep_categories(*text, path, warnings);
}

std::optional<Blocklist> load_blocklist(const BlocklistSource& source, std::string* error) {
  std::vector<LoadWarning> category_warnings;
  std::optional<IprepCategories> categories;
  if (!source.categories_path.empty()) {
    categories = load_iprep_categories(source.categories_path, error, &category_warnings);
    if (!categories) return std::nullopt;
  }

  auto text = read_text_file(source.path, error);
  if (!text) return std::nullopt;

  ParseOptions options;
  options.format = source.format;
  options.path = source.path;
  options.categories = categories ? &*categories : nullptr;
  options.skip_private = source.skip_private;
  Blocklist list = parse_blocklist(*text, options);
  list.info.name = source.name;
  list.info.category = source.category;
  list.info.weight = source.weight;
  for (auto& warning : category_warnings) {
    if (list.warnings.size() < kMaxWarnings) list.warnings.push_back(std::move(warning));
  }
  return list;
}

std::optional<BlocklistSource> parse_blocklist_option(std::string_view text, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<BlocklistSource> {
    if (error) *error = std::move(message);
    return std::nullopt;
  };

  auto equals = text.find('=');
  if (equals == std::string_view::npos) {
    return fail("expected NAME=PATH, got '" + excerpt(text) + "'");
  }
  BlocklistSource source;
  source.name = std::string(trim(text.substr(0, equals)));
  if (source.name.empty() || source.name.size() > 64) {
    return fail("blocklist name must be 1 to 64 characters");
  }
  for (char c : source.name) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f || c == ',' || c == '=') {
      return fail("blocklist name '" + excerpt(source.name) +
                  "' may hold only printable characters without spaces, ',' or '='");
    }
  }

  // Pieces after the path are options only when they start with a known key; anything
  // else belongs to the path, which may contain commas.
  static constexpr std::string_view kKeys[] = {"category=", "weight=", "format=", "categories=",
                                               "private="};
  auto rest = text.substr(equals + 1);
  auto pieces = split(rest, ',');
  std::string path(pieces[0]);
  size_t first_option = 1;
  for (; first_option < pieces.size(); ++first_option) {
    bool is_option = std::any_of(std::begin(kKeys), std::end(kKeys), [&](auto key) {
      return pieces[first_option].substr(0, key.size()) == key;
    });
    if (is_option) break;
    path += ",";
    path.append(pieces[first_option]);
  }
  source.path = path;
  if (source.path.empty()) return fail("blocklist '" + source.name + "' has an empty path");

  for (size_t i = first_option; i < pieces.size(); ++i) {
    auto piece = pieces[i];
    auto key_end = piece.find('=');
    if (key_end == std::string_view::npos) {
      return fail("blocklist option '" + excerpt(piece) + "' is not key=value");
    }
    auto key = piece.substr(0, key_end);
    auto value = piece.substr(key_end + 1);
    if (key == "category") {
      source.category = std::string(value);
    } else if (key == "weight") {
      double weight = 0;
      auto [end, parse_error] = std::from_chars(value.data(), value.data() + value.size(), weight);
      if (parse_error != std::errc() || end != value.data() + value.size() || value.empty() ||
          !(weight >= 0 && weight <= 1e6)) {
        return fail("blocklist weight '" + excerpt(value) + "' is not a number from 0 to 1e6");
      }
      source.weight = weight;
    } else if (key == "format") {
      auto format = parse_format_name(value);
      if (!format) return fail("unknown blocklist format '" + excerpt(value) + "'");
      source.format = *format;
    } else if (key == "categories") {
      source.categories_path = std::string(value);
    } else if (key == "private") {
      if (value != "keep" && value != "skip") return fail("private= takes keep or skip");
      source.skip_private = value == "skip";
    } else {
      return fail("unknown blocklist option '" + excerpt(key) + "'");
    }
  }
  return source;
}

}  // namespace spamtap::intel
