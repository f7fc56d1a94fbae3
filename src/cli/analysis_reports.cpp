// spamtap report ports|client-ports|accepts-external|matrix|activity|talkers|novel|
// surge|sessions: the command-line face of the report layer.
#include "cli/analysis_reports.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>

#include "analysis/report_layer.hpp"
#include "analysis/suspects.hpp"
#include "cli/commands.hpp"
#include "core/text.hpp"

namespace spamtap::cli {

namespace {

struct Arguments {
  CommonReportArguments common;
  int port = -1;
  std::string role = "any";
  bool include_remote = false;
  size_t limit = 0;
  std::string bucket = "hour";
  bool per_port = false;
  std::string by = "bytes";
  std::string learn_until;
  int history = 0;
  int64_t min_jump = 10;
};

bool read_time(const std::string& option, const std::string& text, std::optional<Timestamp>* out) {
  if (text.empty()) return true;
  Timestamp time = 0;
  if (!parse_time(text, &time)) {
    fmt::print(stderr, "spamtap report: {}: cannot read '{}' as a time\n", option,
               escape_control(text));
    return false;
  }
  *out = time;
  return true;
}

// Activity on a terminal ends with a sparkline of the connections per bucket.
void print_activity_sparkline(const Table& table) {
  size_t column = 0;
  while (column < table.columns.size() && table.columns[column] != "connections") ++column;
  std::vector<double> values;
  for (const auto& row : table.rows) {
    if (column < row.size() && row[column].is_number()) values.push_back(row[column].get<double>());
  }
  if (values.empty()) return;
  std::cout << "connections " << sparkline(values) << '\n';
}

int run(const std::string& name, const Arguments& arguments) {
  OutputFormat format;
  ReportFilter filter;
  if (!read_common_report_options(arguments.common, &format, &filter)) {
    return exit_code::kUsage;
  }
  ReportOptions options;
  options.since = filter.since;
  options.until = filter.until;
  options.host = filter.host;
  if (!filter.asset.empty()) options.asset = filter.asset;
  if (arguments.port >= 0) options.port = arguments.port;
  options.include_remote = arguments.include_remote;
  options.limit = arguments.limit;
  options.per_port = arguments.per_port;
  options.surge.history = arguments.history;
  options.surge.min_jump = arguments.min_jump;
  if (!parse_host_role(arguments.role, &options.role)) {
    fmt::print(stderr, "spamtap report: --role must be client, server or any\n");
    return exit_code::kUsage;
  }
  if (!parse_bucket(arguments.bucket, &options.bucket)) {
    fmt::print(stderr, "spamtap report: --bucket must be hour or day\n");
    return exit_code::kUsage;
  }
  if (!parse_talker_order(arguments.by, &options.order)) {
    fmt::print(stderr, "spamtap report: --by must be bytes, connections or peers\n");
    return exit_code::kUsage;
  }
  if (!read_time("--learn-until", arguments.learn_until, &options.learn_until)) {
    return exit_code::kUsage;
  }

  std::string error;
  sqlite3* db = open_store_for_reading(arguments.common.db, &error);
  if (!db) {
    fmt::print(stderr, "spamtap report: {}\n", escape_control(error));
    return exit_code::kFailure;
  }
  SqliteSource source(db);
  Table table;
  bool ok = run_report(source, name, options, &table, &error);
  sqlite3_close(db);
  if (!ok) {
    fmt::print(stderr, "spamtap report {}: {}: {}\n", name, escape_control(arguments.common.db),
               escape_control(error));
    return exit_code::kFailure;
  }
  render(table, format, std::cout);
  if (format == OutputFormat::kTable && name == "activity") print_activity_sparkline(table);
  return exit_code::kOk;
}

}  // namespace

void add_common_report_options(CLI::App* command, CommonReportArguments* arguments) {
  command->add_option("--db", arguments->db, "SQLite store to read")->capture_default_str();
  command->add_option("--format", arguments->format, "table, json (one object a line) or csv")
      ->capture_default_str();
  command->add_option("--since", arguments->since,
                      "Only from this time (2026-12-04, 2026-12-04T10:00Z, epoch seconds)");
  command->add_option("--until", arguments->until, "Only before this time");
  command->add_option("--host", arguments->host, "Only this host");
  command->add_option("--asset", arguments->asset,
                      "Only the hosts of this asset list (see 'spamtap assets list')");
}

bool read_common_report_options(const CommonReportArguments& arguments, OutputFormat* format,
                                ReportFilter* filter) {
  if (!parse_output_format(arguments.format, format)) {
    fmt::print(stderr, "spamtap report: --format must be table, json or csv\n");
    return false;
  }
  if (!arguments.host.empty()) {
    auto host = canonical_address(arguments.host);
    if (!host) {
      fmt::print(stderr, "spamtap report: --host: '{}' is not an IPv4 or IPv6 address\n",
                 escape_control(arguments.host));
      return false;
    }
    filter->host = *host;
  }
  filter->asset = arguments.asset;
  return read_time("--since", arguments.since, &filter->since) &&
         read_time("--until", arguments.until, &filter->until);
}

void register_analysis_reports(CLI::App* report, int* result) {
  for (const AnalysisReport& info : analysis_reports()) {
    auto arguments = std::make_shared<Arguments>();
    std::string name(info.name);
    CLI::App* command = report->add_subcommand(name, std::string(info.description));
    add_common_report_options(command, &arguments->common);
    command->add_option("--port", arguments->port, "Only this service port")
        ->check(CLI::Range(0, 65535));
    command->add_option("--limit", arguments->limit, "At most this many rows (0: default)");
    if (name != "client-ports" && name != "accepts-external") {
      command
          ->add_option("--role", arguments->role,
                       "client (the host opened the connection), server or any")
          ->capture_default_str();
    }
    if (name != "sessions" && name != "novel" && name != "client-ports" &&
        name != "accepts-external") {
      command->add_flag("--include-remote", arguments->include_remote,
                        "Without --host/--asset, also count hosts outside the home networks");
    }
    if (name == "activity" || name == "surge") {
      command->add_option("--bucket", arguments->bucket, "hour or day")->capture_default_str();
    }
    if (name == "activity") {
      command->add_flag("--per-port", arguments->per_port, "One row per bucket and port");
    }
    if (name == "talkers") {
      command->add_option("--by", arguments->by, "bytes, connections or peers")
          ->capture_default_str();
    }
    if (name == "novel") {
      command->add_option("--learn-until", arguments->learn_until,
                          "End of the learning period (default: the first run)");
    }
    if (name == "surge") {
      command->add_option("--history", arguments->history,
                          "Buckets in the baseline (default 24 hours or 14 days)");
      command
          ->add_option("--min-jump", arguments->min_jump,
                       "Smallest rise over the baseline that counts")
          ->capture_default_str();
    }
    command->callback([name, arguments, result] { *result = run(name, *arguments); });
  }
}

}  // namespace spamtap::cli
