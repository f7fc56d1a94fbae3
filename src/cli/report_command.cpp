// spamtap report: questions answered from the store.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <sqlite3.h>

#include <functional>
#include <iostream>

#include "analysis/blocklist_report.hpp"
#include "analysis/score.hpp"
#include "analysis/suspects.hpp"
#include "config/config.hpp"
#include "cli/analysis_reports.hpp"
#include "cli/commands.hpp"
#include "core/text.hpp"

namespace spamtap::cli {

namespace {

struct ReportArguments {
  std::string db = "spamtap.db";
  std::string format = "table";
  std::string since;
  std::string until;
  std::string host;
  std::string asset;
};

using ReportFunction = std::function<Table(sqlite3*, const ReportFilter&)>;

int run_report(const ReportArguments& arguments, ReportFunction report) {
  OutputFormat format;
  if (!parse_output_format(arguments.format, &format)) {
    fmt::print(stderr, "spamtap report: --format must be table, json or csv\n");
    return exit_code::kUsage;
  }
  ReportFilter filter;
  if (!arguments.host.empty()) {
    auto host = canonical_address(arguments.host);
    if (!host) {
      fmt::print(stderr, "spamtap report: --host: '{}' is not an IPv4 or IPv6 address\n",
                 escape_control(arguments.host));
      return exit_code::kUsage;
    }
    filter.host = *host;
  }
  filter.asset = arguments.asset;
  Timestamp time = 0;
  if (!arguments.since.empty()) {
    if (!parse_time(arguments.since, &time)) {
      fmt::print(stderr, "spamtap report: --since: cannot read '{}' as a time\n",
                 escape_control(arguments.since));
      return exit_code::kUsage;
    }
    filter.since = time;
  }
  if (!arguments.until.empty()) {
    if (!parse_time(arguments.until, &time)) {
      fmt::print(stderr, "spamtap report: --until: cannot read '{}' as a time\n",
                 escape_control(arguments.until));
      return exit_code::kUsage;
    }
    filter.until = time;
  }
  std::string error;
  sqlite3* db = open_store_for_reading(arguments.db, &error);
  if (!db) {
    fmt::print(stderr, "spamtap report: {}\n", escape_control(error));
    return exit_code::kFailure;
  }
  Table table = report(db, filter);
  sqlite3_close(db);
  render(table, format, std::cout);
  return exit_code::kOk;
}

CLI::App* add_report(CLI::App* parent, const char* name, const char* description,
                     ReportFunction report, int* result) {
  auto arguments = std::make_shared<ReportArguments>();
  CLI::App* command = parent->add_subcommand(name, description);
  command->add_option("--db", arguments->db, "SQLite store to read")->capture_default_str();
  command->add_option("--format", arguments->format, "table, json (one object a line) or csv")
      ->capture_default_str();
  command->add_option("--since", arguments->since,
                      "Only from this time (2026-12-04, 2026-12-04T10:00Z, epoch seconds)");
  command->add_option("--until", arguments->until, "Only before this time");
  command->add_option("--host", arguments->host, "Only this host");
  command->add_option("--asset", arguments->asset,
                      "Only hosts of this asset list (see 'spamtap assets list')");
  command->callback([arguments, result, report] { *result = run_report(*arguments, report); });
  return command;
}

struct SuspectsArguments {
  std::string config;
  bool all = false;
};

void add_suspects_report(CLI::App* parent, int* result) {
  auto arguments = std::make_shared<SuspectsArguments>();
  auto settings = std::make_shared<ScoreSettings>();
  auto report = [arguments, settings](sqlite3* db, const ReportFilter& filter) {
    return scored_suspects_report(db, filter, *settings, arguments->all);
  };
  CLI::App* command = add_report(parent, "suspects",
                                 "Hosts whose spam score reaches the threshold, highest first, "
                                 "with the rules and behaviour behind each score",
                                 report, result);
  command->add_option("--config", arguments->config, "Configuration file (score settings)");
  command->add_flag("--all", arguments->all, "Also hosts with events below the threshold");
  // Load the configuration before the report runs; a bad file is a usage error.
  command->preparse_callback([](size_t) {});
  command->parse_complete_callback([arguments, settings] {
    if (arguments->config.empty()) return;
    std::string error;
    auto config = load_config(arguments->config, &error);
    if (!config) throw CLI::ValidationError("--config", error);
    *settings = config->score;
  });
}

struct BlocklistArguments {
  std::string by = "pair";
  std::string list;
};

void add_blocklist_report(CLI::App* parent, int* result) {
  auto arguments = std::make_shared<BlocklistArguments>();
  auto report = [arguments](sqlite3* db, const ReportFilter& filter) {
    BlocklistReportOptions options;
    options.filter = filter;
    parse_blocklist_grouping(arguments->by, &options.by);  // checked by CLI11 below
    options.list = arguments->list;
    return blocklist_report(db, options);
  };
  CLI::App* command =
      add_report(parent, "blocklist",
                 "Connections to and from blocklisted addresses: per list, local host and "
                 "remote address, with first/last seen and connection counts",
                 report, result);
  command
      ->add_option("--by", arguments->by,
                   "One row per: pair (list, host, remote), list, host or remote")
      ->check(CLI::IsMember({"pair", "list", "host", "remote"}))
      ->capture_default_str();
  command->add_option("--list", arguments->list, "Only this blocklist (by its name)");
}

}  // namespace

void register_report_command(CLI::App& app, int* result) {
  CLI::App* report = app.add_subcommand("report", "Reports over a store");
  report->require_subcommand(1);
  add_suspects_report(report, result);
  add_report(report, "anomalies", "Protocol oddities seen, by name, with counts",
             anomalies_report, result);
  add_blocklist_report(report, result);
  register_analysis_reports(report, result);
}

}  // namespace spamtap::cli
