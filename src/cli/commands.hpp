// The spamtap command line: each subcommand lives in its own file and registers
// itself on the top-level CLI11 app. Exit codes are shared by all of them.
#pragma once

namespace CLI {
class App;
}

namespace spamtap::cli {

namespace exit_code {
constexpr int kOk = 0;
constexpr int kFailure = 1;       // nothing useful done: input or store could not be opened
constexpr int kUsage = 2;         // bad command line or configuration
constexpr int kInputDamaged = 3;  // finished, results written, but some input was bad
}  // namespace exit_code

// Each register function adds a subcommand with its options and its callback. The
// callback stores its exit code in `*result`.
void register_analyze_command(CLI::App& app, int* result);
void register_live_command(CLI::App& app, int* result);
void register_report_command(CLI::App& app, int* result);
void register_rules_command(CLI::App& app, int* result);
void register_lookup_command(CLI::App& app, int* result);
void register_synth_command(CLI::App& app, int* result);
void register_assets_command(CLI::App& app, int* result);

}  // namespace spamtap::cli
