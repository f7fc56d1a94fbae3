// `spamtap lookup`: load blocklists and say, for each address given, which lists hold it
// and through which entry. A quick way to check a list file and a suspect by hand.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "intel/blocklist_set.hpp"

namespace spamtap::cli {
namespace {

struct LookupOptions {
  std::vector<std::string> blocklists;
  std::string format = "table";
  std::vector<std::string> addresses;
};

// List names and labels come from files: keep terminal control bytes out of the table.
std::string printable(std::string_view text) {
  std::string out;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

struct Row {
  std::string address;
  std::string list;
  std::string entry;
  std::string label;
};

void print_table(const std::vector<Row>& rows, std::ostream& out) {
  Row header{"ADDRESS", "LIST", "ENTRY", "LABEL"};
  size_t address_width = header.address.size();
  size_t list_width = header.list.size();
  size_t entry_width = header.entry.size();
  for (const auto& row : rows) {
    address_width = std::max(address_width, row.address.size());
    list_width = std::max(list_width, row.list.size());
    entry_width = std::max(entry_width, row.entry.size());
  }
  auto print_row = [&](const Row& row) {
    std::string line = row.address;
    line.resize(address_width + 2, ' ');
    line += row.list;
    line.resize(address_width + 2 + list_width + 2, ' ');
    line += row.entry;
    if (!row.label.empty()) {
      line.resize(address_width + 2 + list_width + 2 + entry_width + 2, ' ');
      line += row.label;
    }
    out << line << '\n';
  };
  print_row(header);
  for (const auto& row : rows) print_row(row);
}

int run_lookup(const LookupOptions& options, std::ostream& out, std::ostream& errors) {
  if (options.format != "table" && options.format != "json") {
    errors << "spamtap lookup: --format must be table or json, not '" << printable(options.format)
           << "'\n";
    return exit_code::kUsage;
  }
  if (options.blocklists.empty()) {
    errors << "spamtap lookup: give at least one --blocklist NAME=PATH\n";
    return exit_code::kUsage;
  }
  if (options.addresses.empty()) {
    errors << "spamtap lookup: give at least one address to look up\n";
    return exit_code::kUsage;
  }

  std::vector<IpAddress> addresses;
  for (const auto& text : options.addresses) {
    auto address = IpAddress::parse(text);
    if (!address) {
      errors << "spamtap lookup: '" << printable(text) << "' is not an IPv4 or IPv6 address\n";
      return exit_code::kUsage;
    }
    addresses.push_back(*address);
  }

  std::vector<intel::BlocklistSource> sources;
  std::set<std::string> names;
  for (const auto& option : options.blocklists) {
    std::string error;
    auto source = intel::parse_blocklist_option(option, &error);
    if (!source) {
      errors << "spamtap lookup: --blocklist: " << printable(error) << '\n';
      return exit_code::kUsage;
    }
    if (!names.insert(source->name).second) {
      errors << "spamtap lookup: two blocklists are named '" << source->name << "'\n";
      return exit_code::kUsage;
    }
    sources.push_back(std::move(*source));
  }

  std::vector<intel::Blocklist> lists;
  for (const auto& source : sources) {
    std::string error;
    auto list = intel::load_blocklist(source, &error);
    if (!list) {
      errors << "spamtap lookup: blocklist '" << source.name << "': " << printable(error)
             << " (check the path after " << source.name << "=)\n";
      return exit_code::kFailure;
    }
    for (const auto& warning : list->warnings) {
      errors << "warning: " << printable(warning.to_string()) << '\n';
    }
    const auto& counts = list->info.counts;
    if (counts.bad_lines > list->warnings.size()) {
      errors << "warning: " << printable(source.path) << ": "
             << counts.bad_lines - list->warnings.size() << " more bad lines not shown\n";
    }
    errors << "blocklist " << source.name << ": " << counts.entries << " entries ("
           << intel::format_name(list->info.format) << ", " << counts.bad_lines << " bad lines, "
           << counts.duplicates << " duplicates, " << counts.host_bits_normalized
           << " with host bits, " << counts.skipped_indicators << " non-address indicators)\n";
    lists.push_back(std::move(*list));
  }

  std::string error;
  auto set = intel::BlocklistSet::build(std::move(lists), &error);
  if (!set) {
    errors << "spamtap lookup: " << printable(error) << '\n';
    return exit_code::kUsage;
  }

  std::vector<Row> rows;
  for (const auto& address : addresses) {
    auto matches = set->lookup(address);
    if (options.format == "json") {
      nlohmann::json record;
      record["address"] = address.to_string();
      record["listed"] = !matches.empty();
      record["matches"] = nlohmann::json::array();
      for (const intel::Match& match : matches) {
        const auto& info = set->lists()[match.list_index];
        record["matches"].push_back({{"list", info.name},
                                     {"category", info.category},
                                     {"weight", info.weight},
                                     {"entry", match.entry.to_string()},
                                     {"label", std::string(match.entry_label)}});
      }
      out << record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
      continue;
    }
    if (matches.empty()) rows.push_back(Row{address.to_string(), "-", "-", ""});
    for (const intel::Match& match : matches) {
      rows.push_back(Row{address.to_string(), printable(set->lists()[match.list_index].name),
                         match.entry.to_string(), printable(match.entry_label)});
    }
  }
  if (options.format == "table") print_table(rows, out);
  return exit_code::kOk;
}

}  // namespace

void register_lookup_command(CLI::App& app, int* result) {
  auto options = std::make_shared<LookupOptions>();
  auto* command = app.add_subcommand(
      "lookup", "Show which blocklists hold each address, and through which entry");
  command
      ->add_option("--blocklist", options->blocklists,
                   "A list to load, repeatable: NAME=PATH[,category=C][,weight=W]"
                   "[,format=F][,categories=PATH][,private=keep|skip]")
      ->type_name("NAME=PATH")
      ->allow_extra_args(false);
  command->add_option("--format", options->format, "Output: table (default) or json lines");
  command->add_option("addresses", options->addresses, "IPv4 or IPv6 addresses to look up");
  command->callback([options, result] { *result = run_lookup(*options, std::cout, std::cerr); });
}

}  // namespace spamtap::cli
