// spamtap assets: the asset lists and their members, as the store keeps them.
#include <fmt/format.h>
#include <sqlite3.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <map>

#include "analysis/suspects.hpp"
#include "cli/commands.hpp"
#include "config/config.hpp"
#include "core/text.hpp"

namespace spamtap::cli {

namespace {

struct AssetsArguments {
  std::string db = "spamtap.db";
  std::string config;
  std::string format = "table";
  std::string name;
};

std::string describe(const AssetListDefinition& list) {
  std::string text;
  switch (list.kind) {
    case AssetListDefinition::Kind::kStatic:
      for (const auto& host : list.hosts) text += (text.empty() ? "" : " ") + host.to_string();
      return "hosts " + text;
    case AssetListDefinition::Kind::kCidr:
      for (const auto& net : list.networks) text += (text.empty() ? "" : " ") + net.to_string();
      return "networks " + text;
    case AssetListDefinition::Kind::kDynamic:
      for (int rule : list.rules) text += (text.empty() ? "" : ",") + std::to_string(rule);
      return "hosts with events " + text;
  }
  return text;
}

// Loads the definitions (config or defaults) and opens the store; an exit code on error.
int prepare(const AssetsArguments& arguments, Config* config, sqlite3** db, OutputFormat* format) {
  if (!parse_output_format(arguments.format, format)) {
    fmt::print(stderr, "spamtap assets: --format must be table, json or csv\n");
    return exit_code::kUsage;
  }
  if (!arguments.config.empty()) {
    std::string error;
    auto loaded = load_config(arguments.config, &error);
    if (!loaded) {
      fmt::print(stderr, "spamtap assets: {}\n", escape_control(error));
      return exit_code::kUsage;
    }
    *config = std::move(*loaded);
  }
  std::string error;
  *db = open_store_for_reading(arguments.db, &error);
  if (!*db) {
    fmt::print(stderr, "spamtap assets: {}\n", escape_control(error));
    return exit_code::kFailure;
  }
  return exit_code::kOk;
}

int run_list(const AssetsArguments& arguments) {
  Config config;
  sqlite3* db = nullptr;
  OutputFormat format;
  if (int code = prepare(arguments, &config, &db, &format); code != exit_code::kOk) return code;

  std::map<std::string, int64_t> counts;
  sqlite3_stmt* statement = nullptr;
  sqlite3_prepare_v2(db, "SELECT list, COUNT(*) FROM asset_members GROUP BY list", -1, &statement,
                     nullptr);
  while (statement && sqlite3_step(statement) == SQLITE_ROW) {
    counts[reinterpret_cast<const char*>(sqlite3_column_text(statement, 0))] =
        sqlite3_column_int64(statement, 1);
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);

  Table table;
  table.columns = {"name", "kind", "members", "definition"};
  for (const auto& list : config.assets) {
    table.rows.push_back({list.name, to_string(list.kind), counts[list.name], describe(list)});
    counts.erase(list.name);
  }
  for (const auto& [name, count] : counts) {
    table.rows.push_back({name, "stored", count, "defined in an earlier run's configuration"});
  }
  render(table, format, std::cout);
  return exit_code::kOk;
}

int run_members(const AssetsArguments& arguments, bool export_only) {
  Config config;
  sqlite3* db = nullptr;
  OutputFormat format;
  if (int code = prepare(arguments, &config, &db, &format); code != exit_code::kOk) return code;

  Table table;
  table.columns = {"host", "joined", "reason"};
  sqlite3_stmt* statement = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT host, joined_ns, reason FROM asset_members WHERE list = ?1 "
                     "ORDER BY joined_ns, host",
                     -1, &statement, nullptr);
  sqlite3_bind_text(statement, 1, arguments.name.c_str(), -1, SQLITE_TRANSIENT);
  while (statement && sqlite3_step(statement) == SQLITE_ROW) {
    table.rows.push_back({reinterpret_cast<const char*>(sqlite3_column_text(statement, 0)),
                          format_iso8601(sqlite3_column_int64(statement, 1), 3),
                          reinterpret_cast<const char*>(sqlite3_column_text(statement, 2))});
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);

  bool known = std::any_of(config.assets.begin(), config.assets.end(),
                           [&](const auto& list) { return list.name == arguments.name; });
  if (!known && table.rows.empty()) {
    fmt::print(stderr, "spamtap assets: no asset list named '{}' (see 'spamtap assets list')\n",
               escape_control(arguments.name));
    return exit_code::kUsage;
  }
  if (export_only && format == OutputFormat::kTable) {
    for (const auto& row : table.rows) std::cout << row[0].get<std::string>() << '\n';
    return exit_code::kOk;
  }
  render(table, format, std::cout);
  return exit_code::kOk;
}

CLI::App* add_common(CLI::App* command, AssetsArguments& arguments) {
  command->add_option("--db", arguments.db, "SQLite store to read")->capture_default_str();
  command->add_option("--config", arguments.config, "Configuration file with the definitions");
  return command;
}

}  // namespace

void register_assets_command(CLI::App& app, int* result) {
  auto arguments = std::make_shared<AssetsArguments>();
  CLI::App* assets = app.add_subcommand("assets", "Asset lists: named host lists and members");
  assets->require_subcommand(1);

  CLI::App* list =
      add_common(assets->add_subcommand("list", "Every list with its size"), *arguments);
  list->add_option("--format", arguments->format, "table, json or csv")->capture_default_str();
  list->callback([arguments, result] { *result = run_list(*arguments); });

  CLI::App* show = add_common(
      assets->add_subcommand("show", "Members of one list, with when and why they joined"),
      *arguments);
  show->add_option("--format", arguments->format, "table, json or csv")->capture_default_str();
  show->add_option("name", arguments->name, "List name")->required();
  show->callback([arguments, result] { *result = run_members(*arguments, false); });

  CLI::App* exported =
      add_common(assets->add_subcommand("export",
                                        "Members of one list: one address a line, or --format "
                                        "json"),
                 *arguments);
  exported->add_option("--format", arguments->format, "table (plain addresses), json or csv")
      ->capture_default_str();
  exported->add_option("name", arguments->name, "List name")->required();
  exported->callback([arguments, result] { *result = run_members(*arguments, true); });
}

}  // namespace spamtap::cli
