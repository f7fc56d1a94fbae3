// spamtap rules: the rule catalog.
#include <CLI/CLI.hpp>
#include <iostream>

#include "analysis/table.hpp"
#include "cli/commands.hpp"
#include "detect/catalog.hpp"
#include "detect/spam_detector.hpp"

namespace spamtap::cli {

void register_rules_command(CLI::App& app, int* result) {
  auto format_text = std::make_shared<std::string>("table");
  CLI::App* command = app.add_subcommand("rules", "Print the spam-source rule catalog");
  command->add_option("--format", *format_text, "table, json or csv")->capture_default_str();
  command->callback([format_text, result] {
    OutputFormat format;
    if (!parse_output_format(*format_text, &format)) {
      std::cerr << "spamtap rules: --format must be table, json or csv\n";
      *result = exit_code::kUsage;
      return;
    }
    DetectionSettings settings;
    Table table;
    table.columns = {"id", "name", "severity", "status", "thresholds", "fires_when"};
    for (const auto& rule : rule_catalog()) {
      std::string thresholds;
      if (rule.id == rule_id::kUnknownRecipients) {
        thresholds =
            "min_count=" + std::to_string(settings.unknown_recipients_min_count) + " min_share=" +
            std::to_string(static_cast<int>(settings.unknown_recipients_min_share * 100)) +
            "% window=" + std::to_string(settings.unknown_recipients_window / seconds(60)) + "min";
      }
      table.rows.push_back({rule.id, std::string(rule.name), to_string(rule.severity),
                            rule.implemented ? "active" : "planned", thresholds,
                            std::string(rule.fires_when)});
    }
    render(table, format, std::cout);
    *result = exit_code::kOk;
  });
}

}  // namespace spamtap::cli
