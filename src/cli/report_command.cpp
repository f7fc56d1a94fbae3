// spamtap report: questions answered from the store.
#include <fmt/format.h>
#include <sqlite3.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>

#include "analysis/blocklist_report.hpp"
#include "analysis/score.hpp"
#include "analysis/suspects.hpp"
#include "cli/analysis_reports.hpp"
#include "cli/commands.hpp"
#include "config/config.hpp"
#include "core/text.hpp"

namespace spamtap::cli {

namespace {

using ReportFunction = std::function<Table(sqlite3*, const ReportFilter&)>;

int run_report(const CommonReportArguments& arguments, ReportFunction report) {
  OutputFormat format;
  ReportFilter filter;
  if (!read_common_report_options(arguments, &format, &filter)) return exit_code::kUsage;
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
  auto arguments = std::make_shared<CommonReportArguments>();
  CLI::App* command = parent->add_subcommand(name, description);
  add_common_report_options(command, arguments.get());
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
  add_report(report, "anomalies", "Protocol oddities seen, by name, with counts", anomalies_report,
             result);
  add_blocklist_report(report, result);
  register_analysis_reports(report, result);
}

}  // namespace spamtap::cli
