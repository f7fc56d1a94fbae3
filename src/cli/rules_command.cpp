// spamtap rules: the rule catalog.
#include <CLI/CLI.hpp>
#include <iostream>

#include "analysis/table.hpp"
#include "cli/commands.hpp"
#include "config/config.hpp"
#include "core/text.hpp"
#include "detect/catalog.hpp"
#include "detect/spam_detector.hpp"

namespace spamtap::cli {

void register_rules_command(CLI::App& app, int* result) {
  auto format_text = std::make_shared<std::string>("table");
  auto config_path = std::make_shared<std::string>();
  CLI::App* command = app.add_subcommand("rules", "Print the spam-source rule catalog");
  command->add_option("--format", *format_text, "table, json or csv")->capture_default_str();
  command->add_option("--config", *config_path, "Show the thresholds of this configuration");
  command->callback([format_text, config_path, result] {
    OutputFormat format;
    if (!parse_output_format(*format_text, &format)) {
      std::cerr << "spamtap rules: --format must be table, json or csv\n";
      *result = exit_code::kUsage;
      return;
    }
    DetectionSettings settings;
    if (!config_path->empty()) {
      std::string error;
      auto config = load_config(*config_path, &error);
      if (!config) {
        std::cerr << "spamtap rules: " << escape_control(error) << "\n";
        *result = exit_code::kUsage;
        return;
      }
      settings = config->detection;
    }
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
      if (rule.id == rule_id::kDirectToMxFanOut) {
        thresholds = "min_servers=" + std::to_string(settings.fan_out_min_servers) +
                     " window=" + std::to_string(settings.fan_out_window / seconds(60)) + "min";
      } else if (rule.id == rule_id::kBotLikeClient || rule.id == rule_id::kBulkMailClient) {
        thresholds =
            "repeat_window=" + std::to_string(settings.repeat_window / seconds(60)) + "min";
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
