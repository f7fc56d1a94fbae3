// spamtap synth: writes a synthetic capture and its truth file from a seed.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include "cli/commands.hpp"
#include "synth/idle_connections.hpp"
#include "synth/quantity.hpp"
#include "synth/scenario.hpp"

namespace spamtap::cli {

namespace {

struct SynthArguments {
  std::string scenario = "office";
  uint64_t seed = 1;
  int hosts = 40;
  std::string duration = "1h";
  std::string size;
  int bots = 1;
  uint64_t connections = 1'000'000;
  uint16_t port = 25;
  bool nanoseconds = false;
  std::string output;
};

int write_idle(const SynthArguments& arguments) {
  synth::IdleConnectionsOptions options;
  options.connections = arguments.connections;
  options.seed = arguments.seed;
  options.server_port = arguments.port;
  if (arguments.nanoseconds) options.precision = synth::TimestampPrecision::kNanoseconds;
  try {
    const synth::IdleConnectionsSummary summary =
        synth::write_idle_connections(options, arguments.output);
    std::printf(
        "spamtap synth: wrote %s (idle, port %u, seed %llu): %llu packets, %llu TCP "
        "connections left open, %llu bytes, %.1f s of capture\n",
        arguments.output.c_str(), static_cast<unsigned>(options.server_port),
        static_cast<unsigned long long>(options.seed),
        static_cast<unsigned long long>(summary.packets),
        static_cast<unsigned long long>(options.connections),
        static_cast<unsigned long long>(summary.file_bytes),
        static_cast<double>(summary.last_packet - summary.first_packet) / 1e9);
    return exit_code::kOk;
  } catch (const std::invalid_argument& error) {
    std::cerr << "spamtap synth: " << error.what() << "\n";
    return exit_code::kUsage;
  } catch (const std::exception& error) {
    std::cerr << "spamtap synth: " << error.what() << "\n";
    return exit_code::kFailure;
  }
}

}  // namespace

void register_synth_command(CLI::App& app, int* result) {
  auto arguments = std::make_shared<SynthArguments>();
  CLI::App* command = app.add_subcommand("synth",
                                         "Write a synthetic capture of an office "
                                         "network with spam bots, and its truth file");
  command
      ->add_option("--scenario", arguments->scenario,
                   "demo, office, or idle (many open SMTP connections that stay silent)")
      ->check(CLI::IsMember({"demo", "office", "idle"}))
      ->capture_default_str();
  CLI::Option* seed = command->add_option("--seed", arguments->seed, "seed of every random choice")
                          ->capture_default_str();
  CLI::Option* hosts = command->add_option("--hosts", arguments->hosts, "desktops in the office")
                           ->check(CLI::Range(1, 60000))
                           ->capture_default_str();
  CLI::Option* duration =
      command->add_option("--duration", arguments->duration, "capture time, e.g. 90s, 15m, 1h, 2d")
          ->capture_default_str();
  CLI::Option* size = command->add_option("--size", arguments->size,
                                          "write until the file has this size (e.g. 200MB, 1GiB); "
                                          "capture time then runs as long as needed");
  CLI::Option* bots = command->add_option("--bots", arguments->bots, "bots of each kind")
                          ->check(CLI::Range(0, 10000))
                          ->capture_default_str();
  CLI::Option* connections = command
                                 ->add_option("--connections", arguments->connections,
                                              "connections open at once (idle scenario)")
                                 ->check(CLI::Range(uint64_t{1}, uint64_t{10'000'000}))
                                 ->capture_default_str();
  CLI::Option* port =
      command
          ->add_option("--port", arguments->port,
                       "server port (idle scenario); 25 greets in SMTP, others only shake hands")
          ->check(CLI::Range(1, 65535))
          ->capture_default_str();
  command->add_flag("--nanoseconds", arguments->nanoseconds,
                    "nanosecond timestamps (default: microseconds)");
  command->add_option("-o,--output", arguments->output, "capture file to write")->required();

  command->callback([arguments, result, seed, hosts, duration, size, bots, connections, port] {
    if (arguments->scenario == "idle") {
      if (hosts->count() + duration->count() + size->count() + bots->count() > 0) {
        std::cerr << "spamtap synth: the idle scenario takes only --connections, --port, "
                     "--seed and --nanoseconds\n";
        *result = exit_code::kUsage;
        return;
      }
      *result = write_idle(*arguments);
      return;
    }
    if (connections->count() + port->count() > 0) {
      std::cerr << "spamtap synth: --connections and --port apply to --scenario idle\n";
      *result = exit_code::kUsage;
      return;
    }

    synth::ScenarioOptions options;
    if (arguments->scenario == "demo") {
      // The demo is fixed; only an explicit seed changes it.
      options = synth::demo_scenario();
      if (seed->count() > 0) options.seed = arguments->seed;
      if (hosts->count() + duration->count() + size->count() + bots->count() > 0) {
        std::cerr << "spamtap synth: the demo scenario is fixed; --hosts, "
                     "--duration, --size "
                     "and --bots apply to --scenario office\n";
        *result = exit_code::kUsage;
        return;
      }
    } else {
      const auto capture_time = synth::parse_duration(arguments->duration);
      if (!capture_time) {
        std::cerr << "spamtap synth: --duration '" << arguments->duration
                  << "' is not a duration from 1s to 366d, such as 90s, 15m, 1h or 2d\n";
        *result = exit_code::kUsage;
        return;
      }
      options =
          synth::office_scenario(arguments->seed, arguments->hosts, *capture_time, arguments->bots);
      if (size->count() > 0) {
        const auto bytes = synth::parse_size(arguments->size);
        if (!bytes) {
          std::cerr << "spamtap synth: --size '" << arguments->size
                    << "' is not a size such as 500K, 200MB or 1GiB\n";
          *result = exit_code::kUsage;
          return;
        }
        options.target_bytes = *bytes;
      }
    }
    if (arguments->nanoseconds) options.precision = synth::TimestampPrecision::kNanoseconds;

    try {
      const synth::ScenarioSummary summary = synth::write_scenario(options, arguments->output);
      std::printf(
          "spamtap synth: wrote %s (%s, seed %llu): %llu packets, %llu TCP "
          "connections, "
          "%llu UDP exchanges, %llu SMTP sessions, %d bots, %llu bytes, %.1f s "
          "of capture in "
          "%.2f s; truth in %s\n",
          arguments->output.c_str(), options.name.c_str(),
          static_cast<unsigned long long>(options.seed),
          static_cast<unsigned long long>(summary.packets),
          static_cast<unsigned long long>(summary.tcp_connections),
          static_cast<unsigned long long>(summary.udp_exchanges),
          static_cast<unsigned long long>(summary.smtp_sessions), summary.bots,
          static_cast<unsigned long long>(summary.file_bytes),
          static_cast<double>(summary.last_packet - summary.first_packet) / 1e9,
          summary.wall_seconds, summary.truth_path.c_str());
      *result = exit_code::kOk;
    } catch (const std::invalid_argument& error) {
      std::cerr << "spamtap synth: " << error.what() << "\n";
      *result = exit_code::kUsage;
    } catch (const std::exception& error) {
      std::cerr << "spamtap synth: " << error.what() << "\n";
      *result = exit_code::kFailure;
    }
  });
}

}  // namespace spamtap::cli
