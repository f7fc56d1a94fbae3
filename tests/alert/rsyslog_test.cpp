// AlertSink against a real rsyslog on 127.0.0.1 (UDP and TCP inputs): each event must
// arrive once per target, be parsed by rsyslog as RFC 5424 (structured data and MSGID
// recognised), and carry no control byte, even when the event text is hostile.
// Skipped when rsyslogd is not installed or the test does not run as root.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "alert/syslog.hpp"
#include "loopback_receiver.hpp"

namespace spamtap::alert {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string find_rsyslogd() {
  for (const char* path : {"/usr/sbin/rsyslogd", "/sbin/rsyslogd", "/usr/local/sbin/rsyslogd"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return {};
}

uint16_t free_port(int type) {
  int probe = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  sockaddr_in address = testing::loopback(0);
  bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address);
  uint16_t port = testing::bound_port(probe);
  close(probe);
  return port;
}

// One rsyslogd child, stopped by its PID when this goes out of scope.
class Rsyslog {
 public:
  Rsyslog(const std::string& binary, const fs::path& directory, uint16_t udp_port,
          uint16_t tcp_port)
      : directory_(directory) {
    fs::path config = directory / "rsyslog.conf";
    std::ofstream(config) << "global(maxMessageSize=\"64k\" workDirectory=\"" << directory.string()
                          << "\")\n"
                          << "module(load=\"imudp\")\nmodule(load=\"imtcp\")\n"
                          << "template(name=\"raw\" type=\"list\") { property(name=\"rawmsg\") "
                             "constant(value=\"\\n\") }\n"
                          << "template(name=\"json\" type=\"list\") { property(name=\"jsonmesg\") "
                             "constant(value=\"\\n\") }\n"
                          << ruleset("udp") << ruleset("tcp")
                          << "input(type=\"imudp\" address=\"127.0.0.1\" port=\"" << udp_port
                          << "\" ruleset=\"udp\")\n"
                          << "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"" << tcp_port
                          << "\" ruleset=\"tcp\")\n";
    std::string log = (directory / "rsyslogd.log").string();
    std::string pidfile = (directory / "rsyslogd.pid").string();
    std::string config_text = config.string();
    pid_ = fork();
    if (pid_ == 0) {
      freopen(log.c_str(), "w", stdout);
      freopen(log.c_str(), "a", stderr);
      execl(binary.c_str(), binary.c_str(), "-n", "-f", config_text.c_str(), "-i",
            pidfile.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }

  ~Rsyslog() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(50ms);
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }

  bool running() { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }

  std::vector<std::string> lines(const char* name) const {
    std::vector<std::string> out;
    std::ifstream file(directory_ / name);
    for (std::string line; std::getline(file, line);) out.push_back(line);
    return out;
  }

 private:
  // Each input writes what it got twice: the exact bytes, and rsyslog's parse as JSON.
  std::string ruleset(const char* name) const {
    std::string base = (directory_ / name).string();
    return std::string("ruleset(name=\"") + name + "\") {\n  action(type=\"omfile\" file=\"" +
           base + ".raw\" template=\"raw\")\n  action(type=\"omfile\" file=\"" + base +
           ".json\" template=\"json\")\n}\n";
  }

  fs::path directory_;
  pid_t pid_ = -1;
};

bool tcp_accepts(uint16_t port) {
  int probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address = testing::loopback(port);
  bool ok = connect(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(probe);
  return ok;
}

Event hostile_event(uint64_t connection) {
  Event event;
  event.time = seconds(1796400350) + static_cast<int64_t>(connection) * 1000;
  event.host = *IpAddress::parse("10.9.8.7");
  event.peer = *IpAddress::parse("198.51.100.25");
  event.peer_port = 25;
  event.rule = 4122;
  event.severity = Severity::kHigh;
  event.connection_id = connection;
  event.summary = std::string("refused RCPT TO:<x\r\n<13>1 forged\0\x1b[2J]\"\\@y>", 43);
  for (int i = 0; i < 1000; ++i) event.evidence += "554 \x07\x01\r\n\xFF\xC3\xA9]\"\\";
  return event;
}

TEST(Rsyslog, EveryEventArrivesOnceAsValidRfc5424) {
  std::string binary = find_rsyslogd();
  if (binary.empty()) GTEST_SKIP() << "rsyslogd is not installed (apt-get install rsyslog)";
  if (geteuid() != 0) GTEST_SKIP() << "rsyslogd needs root here";

  fs::path directory = fs::temp_directory_path() / ("spamtap-rsyslog-" + std::to_string(getpid()));
  fs::remove_all(directory);
  fs::create_directories(directory);
  uint16_t udp_port = free_port(SOCK_DGRAM);
  uint16_t tcp_port = free_port(SOCK_STREAM);
  {
    Rsyslog rsyslog(binary, directory, udp_port, tcp_port);
    bool ready = false;
    for (int i = 0; i < 200 && !ready; ++i) {
      std::this_thread::sleep_for(50ms);
      ASSERT_TRUE(rsyslog.running()) << "rsyslogd exited; see " << directory / "rsyslogd.log";
      ready = tcp_accepts(tcp_port);
    }
    ASSERT_TRUE(ready) << "rsyslogd did not open 127.0.0.1:" << tcp_port;

    std::string error;
    AlertOptions options;
    options.rate_limit.max_per_window = 0;
    auto sink = AlertSink::create({"udp://127.0.0.1:" + std::to_string(udp_port),
                                   "tcp://127.0.0.1:" + std::to_string(tcp_port)},
                                  options, &error);
    ASSERT_NE(sink, nullptr) << error;
    constexpr int kEvents = 6;
    for (int i = 1; i <= kEvents; ++i) sink->write_event(hostile_event(static_cast<uint64_t>(i)));
    sink->close();
    EXPECT_EQ(sink->counters().delivery.sent, 2u * kEvents) << sink->summary();

    for (const char* input : {"udp", "tcp"}) {
      SCOPED_TRACE(input);
      std::string json_name = std::string(input) + ".json";
      std::string raw_name = std::string(input) + ".raw";
      for (int i = 0; i < 100 && rsyslog.lines(json_name.c_str()).size() < kEvents; ++i) {
        std::this_thread::sleep_for(50ms);
      }
      std::this_thread::sleep_for(200ms);  // anything extra would show up now
      std::vector<std::string> parsed = rsyslog.lines(json_name.c_str());
      std::vector<std::string> raw = rsyslog.lines(raw_name.c_str());
      ASSERT_EQ(parsed.size(), static_cast<size_t>(kEvents));
      ASSERT_EQ(raw.size(), static_cast<size_t>(kEvents));

      std::set<std::string> connections;
      for (const auto& line : parsed) {
        auto record = nlohmann::json::parse(line);
        EXPECT_EQ(record.value("protocol-version", ""), "1");
        EXPECT_EQ(record.value("msgid", ""), "4122");
        EXPECT_EQ(record.value("app-name", ""), "spamtap");
        std::string sd = record.value("structured-data", "");
        EXPECT_TRUE(sd.starts_with("[spamtap@32473 rule=\"4122\"")) << sd;
        size_t at = sd.find("conn=\"");
        ASSERT_NE(at, std::string::npos);
        connections.insert(sd.substr(at + 6, sd.find('"', at + 6) - at - 6));
        EXPECT_NE(record.value("msg", "").find("[truncated]"), std::string::npos);
      }
      EXPECT_EQ(connections.size(), static_cast<size_t>(kEvents));
      for (const auto& line : raw) {
        EXPECT_LE(line.size(), std::string(input) == "udp" ? 2048u : 8192u);
        for (char c : line) EXPECT_GE(static_cast<uint8_t>(c), 0x20) << line.substr(0, 80);
      }
    }
  }
  if (getenv("SPAMTAP_KEEP_TEST_FILES") == nullptr) fs::remove_all(directory);
}

}  // namespace
}  // namespace spamtap::alert
