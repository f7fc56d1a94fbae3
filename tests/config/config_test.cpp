#include "config/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace spamtap {
namespace {

// The files written by a test run, removed when it ends.
struct WrittenFiles {
  std::vector<std::filesystem::path> paths;
  ~WrittenFiles() {
    for (const auto& path : paths) std::filesystem::remove(path);
  }
};

std::string write_file(const std::string& text) {
  static WrittenFiles written;
  static int counter = 0;
  auto path =
      std::filesystem::temp_directory_path() /
      ("spamtap-config-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + ".toml");
  std::ofstream(path) << text;
  written.paths.push_back(path);
  return path.string();
}

TEST(Config, ShippedExampleLoads) {
  std::string error;
  auto config =
      load_config(std::string(SPAMTAP_SOURCE_DIR) + "/config/spamtap.toml.example", &error);
  ASSERT_TRUE(config) << error;
  ASSERT_TRUE(config->home);
  EXPECT_TRUE(config->home->contains(*IpAddress::parse("192.168.4.4")));
  EXPECT_FALSE(config->home->contains(*IpAddress::parse("172.16.0.1")));
  EXPECT_EQ(config->detection.mail_servers.size(), 1u);
  EXPECT_EQ(config->detection.fan_out_min_servers, 5);
  EXPECT_EQ(config->score.weights.at(4122), 4.0);
  // The default SPAM Server list plus the three defined in the example.
  ASSERT_EQ(config->assets.size(), 4u);
  EXPECT_EQ(config->assets[0].name, "SPAM Server");
  EXPECT_EQ(config->assets[2].kind, AssetListDefinition::Kind::kCidr);
}

TEST(Config, ValuesAreRead) {
  std::string error;
  auto config = load_config(write_file(R"(
[rules.unknown_recipients]
min_count = 8
min_share = 0.75
window = "30m"
[rules.fan_out]
min_servers = 10
[score]
threshold = 7.5
[[syslog]]
target = "tcp://127.0.0.1:6514"
)"),
                            &error);
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config->detection.unknown_recipients_min_count, 8);
  EXPECT_DOUBLE_EQ(config->detection.unknown_recipients_min_share, 0.75);
  EXPECT_EQ(config->detection.unknown_recipients_window, seconds(1800));
  EXPECT_EQ(config->detection.fan_out_min_servers, 10);
  EXPECT_DOUBLE_EQ(config->score.threshold, 7.5);
  EXPECT_EQ(config->syslog_targets, std::vector<std::string>{"tcp://127.0.0.1:6514"});
}

struct BadCase {
  const char* text;
  const char* expected;  // the part of the message after "FILE:"
};

TEST(Config, MistakesNameTheKeyAndLine) {
  const BadCase cases[] = {
      {"[network]\nhome = [\"10.0.0.0/8\"]\nhomes = []\n", "3: network.homes: unknown key"},
      {"[rules.fan_out]\nmin_servers = \"five\"\n",
       "2: rules.fan_out.min_servers: must be a whole number"},
      {"[rules.unknown_recipients]\nmin_share = 1.5\n",
       "2: rules.unknown_recipients.min_share: must be from 0 to 1"},
      {"[rules.fan_out]\nwindow = \"soon\"\n", "2: rules.fan_out.window: must be a duration"},
      {"[network]\nmail_servers = [\"10.0.0.300\"]\n",
       "2: network.mail_servers: '10.0.0.300' is not an address"},
      {"[score.weights]\n9999 = 1.0\n", "2: score.weights.9999: not a rule id"},
      {"[[asset]]\nname = \"x\"\nkind = \"magic\"\n", "3: asset.kind: must be static, cidr"},
      {"[[asset]]\nname = \"x\"\nkind = \"dynamic\"\nrules = [1234]\n",
       "4: asset.rules: 1234 is not a rule id"},
      {"colour = \"blue\"\n", "1: colour: unknown key"},
      {"[network\n", "1: "},
  };
  for (const auto& bad : cases) {
    std::string path = write_file(bad.text);
    std::string error;
    EXPECT_FALSE(load_config(path, &error)) << bad.text;
    EXPECT_EQ(error.rfind(path + ":", 0), 0u) << error;
    EXPECT_NE(error.find(bad.expected), std::string::npos) << "got: " << error;
  }
}

TEST(Config, MissingFileIsAnError) {
  std::string error;
  EXPECT_FALSE(load_config("/nonexistent/spamtap.toml", &error));
  EXPECT_NE(error.find("/nonexistent/spamtap.toml"), std::string::npos);
}

TEST(Duration, Units) {
  EXPECT_EQ(parse_duration("90"), seconds(90));
  EXPECT_EQ(parse_duration("15m"), seconds(900));
  EXPECT_EQ(parse_duration("2d"), seconds(172800));
  EXPECT_FALSE(parse_duration("1w"));
  EXPECT_FALSE(parse_duration("-5m"));
  EXPECT_FALSE(parse_duration("h"));
}

}  // namespace
}  // namespace spamtap
