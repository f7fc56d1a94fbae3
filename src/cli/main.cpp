// spamtap: find the hosts of a network that send spam, from its traffic alone.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "spamtap - passive spam-source detection from network traffic.\n"
      "Reads pcap/pcapng captures, follows SMTP conversations, flags the hosts that behave\n"
      "like spam sources with evidence, and stores everything in SQLite for reports.",
      "spamtap"};
  app.set_version_flag("--version", "spamtap 0.1.0");
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 success, 1 failure (input or store unusable), 2 usage error,\n"
      "3 finished with damaged input (results written).\n"
      "Example: spamtap analyze --db mail.db capture.pcap && spamtap report suspects --db "
      "mail.db");

  int result = spamtap::cli::exit_code::kOk;
  spamtap::cli::register_analyze_command(app, &result);
  spamtap::cli::register_live_command(app, &result);
  spamtap::cli::register_report_command(app, &result);
  spamtap::cli::register_rules_command(app, &result);
  spamtap::cli::register_lookup_command(app, &result);
  spamtap::cli::register_assets_command(app, &result);
  spamtap::cli::register_synth_command(app, &result);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return spamtap::cli::exit_code::kUsage;
  }
  return result;
}
