// The configuration file (TOML): home networks, declared mail servers, rule thresholds
// and windows, score weights, asset lists, blocklists and syslog targets. Every
// command that takes --config reads it through load_config(); without a file the
// defaults apply. Unknown keys and bad values are errors that name the key and line.
// config/spamtap.toml.example documents every key.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "analysis/score.hpp"
#include "assets/asset_lists.hpp"
#include "core/address.hpp"
#include "detect/spam_detector.hpp"
#include "intel/blocklist.hpp"

namespace spamtap {

struct Config {
  std::optional<HomeNetworks> home;  // nullopt: the default private ranges
  DetectionSettings detection;
  ScoreSettings score;
  std::vector<AssetListDefinition> assets = default_asset_lists();
  std::vector<intel::BlocklistSource> blocklists;
  std::vector<std::string> syslog_targets;  // "udp://127.0.0.1:514?format=5424"
};

// Reads `path`; on failure returns nullopt with `error` like
// "spamtap.toml:12: rules.fan_out.min_servers: must be a whole number from 1 to 100000".
std::optional<Config> load_config(const std::string& path, std::string* error);

// "90s", "15m", "1h", "2d" or a plain number of seconds.
std::optional<Timestamp> parse_duration(const std::string& text);

}  // namespace spamtap
