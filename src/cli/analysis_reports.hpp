// The traffic reports of the report layer (ports, client-ports, accepts-external,
// matrix, activity, talkers, novel, surge, sessions) as `spamtap report` subcommands.
#pragma once

namespace CLI {
class App;
}

namespace spamtap::cli {

// Adds one subcommand per report of analysis/report_layer.hpp under `report`; the
// callback stores its exit code in `*result`.
void register_analysis_reports(CLI::App* report, int* result);

}  // namespace spamtap::cli
