#include "config/config.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <charconv>
#include <filesystem>
#include <set>

#include "detect/catalog.hpp"

namespace spamtap {

namespace {

// A configuration mistake: where it is and what is wrong. Thrown inside the loader
// only, and turned into the one-line error the caller prints.
struct ConfigError {
  std::string message;
};

class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const toml::node& node, const std::string& key,
                         const std::string& what) const {
    throw ConfigError{fmt::format("{}:{}: {}: {}", path_, node.source().begin.line, key, what)};
  }

  // Rejects keys the table may not have.
  void only(const toml::table& table, const std::string& prefix,
            std::initializer_list<std::string_view> allowed) const {
    for (auto&& [key, node] : table) {
      bool known = std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end();
      if (!known) {
        std::string name =
            prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
        throw ConfigError{
            fmt::format("{}:{}: {}: unknown key", path_, key.source().begin.line, name)};
      }
    }
  }

  const toml::table& table(const toml::node& node, const std::string& key) const {
    if (!node.is_table()) fail(node, key, "must be a table");
    return *node.as_table();
  }

  std::string string(const toml::node& node, const std::string& key) const {
    if (!node.is_string()) fail(node, key, "must be a string");
    return node.as_string()->get();
  }

  double number(const toml::node& node, const std::string& key, double low, double high) const {
    double value;
    if (node.is_integer()) {
      value = static_cast<double>(node.as_integer()->get());
    } else if (node.is_floating_point()) {
      value = node.as_floating_point()->get();
    } else {
      fail(node, key, "must be a number");
    }
    if (!(value >= low && value <= high)) {
      fail(node, key, fmt::format("must be from {} to {}", low, high));
    }
    return value;
  }

  int64_t whole(const toml::node& node, const std::string& key, int64_t low, int64_t high) const {
    if (!node.is_integer()) fail(node, key, "must be a whole number");
    int64_t value = node.as_integer()->get();
    if (value < low || value > high) {
      fail(node, key, fmt::format("must be a whole number from {} to {}", low, high));
    }
    return value;
  }

  bool boolean(const toml::node& node, const std::string& key) const {
    if (!node.is_boolean()) fail(node, key, "must be true or false");
    return node.as_boolean()->get();
  }

  Timestamp duration(const toml::node& node, const std::string& key) const {
    if (node.is_integer()) return seconds(whole(node, key, 1, 366LL * 24 * 3600));
    auto value = parse_duration(string(node, key));
    if (!value || *value <= 0)
      fail(node, key, "must be a duration such as \"90s\", \"15m\", \"1h\"");
    return *value;
  }

  std::vector<std::string> strings(const toml::node& node, const std::string& key) const {
    if (!node.is_array()) fail(node, key, "must be an array of strings");
    std::vector<std::string> out;
    for (const auto& item : *node.as_array()) out.push_back(string(item, key));
    return out;
  }

  std::vector<Cidr> networks(const toml::node& node, const std::string& key) const {
    std::vector<Cidr> out;
    if (!node.is_array()) fail(node, key, "must be an array of CIDRs");
    for (const auto& item : *node.as_array()) {
      auto cidr = Cidr::parse(string(item, key));
      if (!cidr) fail(item, key, fmt::format("'{}' is not an address or CIDR", string(item, key)));
      out.push_back(*cidr);
    }
    return out;
  }

  std::vector<IpAddress> addresses(const toml::node& node, const std::string& key) const {
    std::vector<IpAddress> out;
    if (!node.is_array()) fail(node, key, "must be an array of addresses");
    for (const auto& item : *node.as_array()) {
      auto address = IpAddress::parse(string(item, key));
      if (!address) fail(item, key, fmt::format("'{}' is not an address", string(item, key)));
      out.push_back(*address);
    }
    return out;
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void read_network(const Reader& r, const toml::table& network, Config& config) {
  r.only(network, "network", {"home", "mail_servers"});
  if (auto* home = network.get("home"))
    config.home = HomeNetworks(r.networks(*home, "network.home"));
  if (auto* servers = network.get("mail_servers")) {
    config.detection.mail_servers = r.addresses(*servers, "network.mail_servers");
  }
}

void read_rules(const Reader& r, const toml::table& rules, Config& config) {
  r.only(rules, "rules", {"repeat_window", "unknown_recipients", "fan_out", "mail_clients"});
  DetectionSettings& d = config.detection;
  if (auto* node = rules.get("repeat_window"))
    d.repeat_window = r.duration(*node, "rules.repeat_window");
  if (auto* node = rules.get("unknown_recipients")) {
    const auto& t = r.table(*node, "rules.unknown_recipients");
    r.only(t, "rules.unknown_recipients", {"min_count", "min_share", "window"});
    if (auto* v = t.get("min_count")) {
      d.unknown_recipients_min_count =
          static_cast<int>(r.whole(*v, "rules.unknown_recipients.min_count", 1, 100000));
    }
    if (auto* v = t.get("min_share")) {
      d.unknown_recipients_min_share = r.number(*v, "rules.unknown_recipients.min_share", 0, 1);
    }
    if (auto* v = t.get("window")) {
      d.unknown_recipients_window = r.duration(*v, "rules.unknown_recipients.window");
    }
  }
  if (auto* node = rules.get("fan_out")) {
    const auto& t = r.table(*node, "rules.fan_out");
    r.only(t, "rules.fan_out", {"min_servers", "window"});
    if (auto* v = t.get("min_servers")) {
      d.fan_out_min_servers = static_cast<int>(r.whole(*v, "rules.fan_out.min_servers", 1, 100000));
    }
    if (auto* v = t.get("window")) d.fan_out_window = r.duration(*v, "rules.fan_out.window");
  }
  if (auto* node = rules.get("mail_clients")) {
    const auto& t = r.table(*node, "rules.mail_clients");
    r.only(t, "rules.mail_clients", {"bulk", "ordinary"});
    if (auto* v = t.get("bulk")) d.bulk_mailers = r.strings(*v, "rules.mail_clients.bulk");
    if (auto* v = t.get("ordinary"))
      d.ordinary_mailers = r.strings(*v, "rules.mail_clients.ordinary");
  }
}

void read_score(const Reader& r, const toml::table& score, Config& config) {
  r.only(score, "score",
         {"threshold", "half_life", "rule_cap", "weights", "mail_user_discount",
          "mail_server_discount", "port25_server_charge", "port25_charge_cap"});
  ScoreSettings& s = config.score;
  if (auto* v = score.get("threshold")) s.threshold = r.number(*v, "score.threshold", 0, 1e6);
  if (auto* v = score.get("half_life")) s.half_life = r.duration(*v, "score.half_life");
  if (auto* v = score.get("rule_cap")) s.rule_cap = r.number(*v, "score.rule_cap", 0, 1e6);
  if (auto* v = score.get("mail_user_discount")) {
    s.mail_user_discount = r.number(*v, "score.mail_user_discount", 0, 1e6);
  }
  if (auto* v = score.get("mail_server_discount")) {
    s.mail_server_discount = r.number(*v, "score.mail_server_discount", 0, 1e6);
  }
  if (auto* v = score.get("port25_server_charge")) {
    s.port25_server_charge = r.number(*v, "score.port25_server_charge", 0, 1e6);
  }
  if (auto* v = score.get("port25_charge_cap")) {
    s.port25_charge_cap = r.number(*v, "score.port25_charge_cap", 0, 1e6);
  }
  if (auto* v = score.get("weights")) {
    const auto& weights = r.table(*v, "score.weights");
    for (auto&& [key, node] : weights) {
      std::string name = "score.weights." + std::string(key.str());
      int rule = 0;
      auto text = key.str();
      auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), rule);
      if (error != std::errc() || end != text.data() + text.size() || !find_rule(rule)) {
        throw ConfigError{fmt::format("{}:{}: {}: not a rule id (see 'spamtap rules')", r.path(),
                                      key.source().begin.line, name)};
      }
      s.weights[rule] = r.number(node, name, 0, 1e6);
    }
  }
}

void read_assets(const Reader& r, const toml::node& node, Config& config) {
  if (!node.is_array_of_tables()) r.fail(node, "asset", "must be written as [[asset]] tables");
  std::set<std::string> names;
  for (const auto& item : *node.as_array()) {
    const auto& t = *item.as_table();
    r.only(t, "asset", {"name", "kind", "hosts", "networks", "rules", "local_only"});
    AssetListDefinition list;
    const toml::node* name = t.get("name");
    if (!name) r.fail(item, "asset", "needs a name");
    list.name = r.string(*name, "asset.name");
    if (list.name.empty() || list.name.size() > 128)
      r.fail(*name, "asset.name", "must be 1 to 128 characters");
    if (!names.insert(list.name).second)
      r.fail(*name, "asset.name", "'" + list.name + "' is defined twice");
    std::string kind = "dynamic";
    if (auto* v = t.get("kind")) kind = r.string(*v, "asset.kind");
    if (kind == "static") {
      list.kind = AssetListDefinition::Kind::kStatic;
      const toml::node* hosts = t.get("hosts");
      if (!hosts) r.fail(item, "asset.hosts", "a static list needs hosts");
      list.hosts = r.addresses(*hosts, "asset.hosts");
    } else if (kind == "cidr") {
      list.kind = AssetListDefinition::Kind::kCidr;
      const toml::node* networks = t.get("networks");
      if (!networks) r.fail(item, "asset.networks", "a cidr list needs networks");
      list.networks = r.networks(*networks, "asset.networks");
    } else if (kind == "dynamic") {
      list.kind = AssetListDefinition::Kind::kDynamic;
      const toml::node* rules = t.get("rules");
      if (!rules || !rules->is_array())
        r.fail(item, "asset.rules", "a dynamic list needs rules = [ids]");
      for (const auto& rule : *rules->as_array()) {
        int id = static_cast<int>(r.whole(rule, "asset.rules", 1, 99999));
        if (!find_rule(id)) r.fail(rule, "asset.rules", fmt::format("{} is not a rule id", id));
        list.rules.insert(id);
      }
    } else {
      r.fail(*t.get("kind"), "asset.kind", "must be static, cidr or dynamic");
    }
    if (auto* v = t.get("local_only")) list.local_only = r.boolean(*v, "asset.local_only");
    // A list named like a default replaces it.
    std::erase_if(config.assets,
                  [&](const AssetListDefinition& existing) { return existing.name == list.name; });
    config.assets.push_back(std::move(list));
  }
}

void read_blocklists(const Reader& r, const toml::node& node, Config& config) {
  if (!node.is_array_of_tables())
    r.fail(node, "blocklist", "must be written as [[blocklist]] tables");
  for (const auto& item : *node.as_array()) {
    const auto& t = *item.as_table();
    r.only(t, "blocklist",
           {"name", "path", "category", "weight", "format", "categories", "private"});
    intel::BlocklistSource source;
    if (!t.get("name") || !t.get("path")) r.fail(item, "blocklist", "needs a name and a path");
    source.name = r.string(*t.get("name"), "blocklist.name");
    source.path = r.string(*t.get("path"), "blocklist.path");
    if (auto* v = t.get("category")) source.category = r.string(*v, "blocklist.category");
    if (auto* v = t.get("weight")) source.weight = r.number(*v, "blocklist.weight", 0, 1e6);
    if (auto* v = t.get("categories"))
      source.categories_path = r.string(*v, "blocklist.categories");
    if (auto* v = t.get("format")) {
      auto format = intel::parse_format_name(r.string(*v, "blocklist.format"));
      if (!format) r.fail(*v, "blocklist.format", "unknown format (see spamtap lookup --help)");
      source.format = *format;
    }
    if (auto* v = t.get("private")) {
      std::string mode = r.string(*v, "blocklist.private");
      if (mode != "keep" && mode != "skip") r.fail(*v, "blocklist.private", "must be keep or skip");
      source.skip_private = mode == "skip";
    }
    config.blocklists.push_back(std::move(source));
  }
}

void read_syslog(const Reader& r, const toml::node& node, Config& config) {
  if (!node.is_array_of_tables()) r.fail(node, "syslog", "must be written as [[syslog]] tables");
  for (const auto& item : *node.as_array()) {
    const auto& t = *item.as_table();
    r.only(t, "syslog", {"target"});
    if (!t.get("target")) r.fail(item, "syslog", "needs target = \"udp://HOST:PORT\"");
    config.syslog_targets.push_back(r.string(*t.get("target"), "syslog.target"));
  }
}

}  // namespace

std::optional<Timestamp> parse_duration(const std::string& text) {
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || value < 0) return std::nullopt;
  std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  int64_t scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  } else if (unit == "d") {
    scale = 86400;
  } else {
    return std::nullopt;
  }
  if (value > 100LL * 365 * 86400 / scale) return std::nullopt;
  return seconds(value * scale);
}

std::optional<Config> load_config(const std::string& path, std::string* error) {
  Config config;
  Reader reader(path);
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) {
    *error = path + ": is a directory, not a configuration file";
    return std::nullopt;
  }
  try {
    toml::table root = toml::parse_file(path);
    reader.only(root, "", {"network", "rules", "score", "asset", "blocklist", "syslog"});
    if (auto* node = root.get("network"))
      read_network(reader, reader.table(*node, "network"), config);
    if (auto* node = root.get("rules")) read_rules(reader, reader.table(*node, "rules"), config);
    if (auto* node = root.get("score")) read_score(reader, reader.table(*node, "score"), config);
    if (auto* node = root.get("asset")) read_assets(reader, *node, config);
    if (auto* node = root.get("blocklist")) read_blocklists(reader, *node, config);
    if (auto* node = root.get("syslog")) read_syslog(reader, *node, config);
  } catch (const toml::parse_error& e) {
    *error = fmt::format("{}:{}: {}", path, e.source().begin.line, e.description());
    return std::nullopt;
  } catch (const ConfigError& e) {
    *error = e.message;
    return std::nullopt;
  }
  return config;
}

}  // namespace spamtap
