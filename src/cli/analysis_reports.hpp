// The traffic reports of the report layer (ports, client-ports, accepts-external,
// matrix, activity, talkers, novel, surge, sessions) as `spamtap report` subcommands.
#pragma once

#include <string>

#include "analysis/suspects.hpp"
#include "analysis/table.hpp"

namespace CLI {
class App;
}

namespace spamtap::cli {

// The options every `spamtap report` subcommand takes, as typed.
struct CommonReportArguments {
  std::string db = "spamtap.db";
  std::string format = "table";
  std::string since;
  std::string until;
  std::string host;
  std::string asset;
};

// Adds --db, --format, --since, --until, --host and --asset to `command`.
void add_common_report_options(CLI::App* command, CommonReportArguments* arguments);

// The same options checked: a known format, readable times and a real address (kept in
// its canonical form). False after saying on stderr what is wrong.
bool read_common_report_options(const CommonReportArguments& arguments, OutputFormat* format,
                                ReportFilter* filter);

// Adds one subcommand per report of analysis/report_layer.hpp under `report`; the
// callback stores its exit code in `*result`.
void register_analysis_reports(CLI::App* report, int* result);

}  // namespace spamtap::cli
