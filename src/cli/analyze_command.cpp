// spamtap analyze: read captures, analyze them, write the store (and JSON lines).
#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>

#include "alert/syslog.hpp"
#include "analysis/report_layer.hpp"
#include "analysis/suspects.hpp"
#include "assets/asset_lists.hpp"
#include "capture/live_capture.hpp"
#include "cli/commands.hpp"
#include "config/config.hpp"
#include "core/text.hpp"
#include "intel/blocklist_set.hpp"
#include "pipeline/pipeline.hpp"
#include "store/json_lines_sink.hpp"
#include "store/sqlite_store.hpp"
#include "store/threaded_sink.hpp"

namespace spamtap::cli {

namespace {

struct AnalyzeArguments {
  std::string db = "spamtap.db";
  std::string home_net;
  std::string filter;
  std::string json_out;
  bool quiet = false;
  size_t max_connections = 1 << 20;
  int workers = 1;
  std::vector<std::string> blocklists;
  std::vector<std::string> syslog;
  std::string config;
  std::vector<std::string> captures;
  // spamtap live
  bool live = false;
  std::string interface;
  std::string user = "nobody";
  double flush_seconds = 5;
};

std::string human_count(double value) {
  if (value >= 1e9) return fmt::format("{:.1f}G", value / 1e9);
  if (value >= 1e6) return fmt::format("{:.1f}M", value / 1e6);
  if (value >= 1e3) return fmt::format("{:.1f}k", value / 1e3);
  return fmt::format("{:.0f}", value);
}

// Reads every --blocklist into one set, telling the operator what each list gave and
// which lines were skipped (warnings show even with --quiet). Returns an exit code; kOk
// with `*set` filled on success.
int load_blocklists(const char* prefix, const std::vector<std::string>& options,
                    std::vector<intel::BlocklistSource> sources, bool quiet,
                    std::shared_ptr<const intel::BlocklistSet>* set) {
  std::set<std::string> names;
  for (const auto& source : sources) names.insert(source.name);
  for (const auto& option : options) {
    std::string error;
    auto source = intel::parse_blocklist_option(option, &error);
    if (!source) {
      fmt::print(stderr, "{}: --blocklist: {}\n", prefix, escape_control(error));
      return exit_code::kUsage;
    }
    if (!names.insert(source->name).second) {
      fmt::print(stderr, "{}: --blocklist: two lists are named '{}'\n", prefix,
                 escape_control(source->name));
      return exit_code::kUsage;
    }
    sources.push_back(std::move(*source));
  }

  std::vector<intel::Blocklist> lists;
  for (const auto& source : sources) {
    std::string error;
    auto list = intel::load_blocklist(source, &error);
    if (!list) {
      fmt::print(stderr, "{}: blocklist '{}': {}\n", prefix, escape_control(source.name),
                 escape_control(error));
      return exit_code::kFailure;
    }
    for (const auto& warning : list->warnings) {
      fmt::print(stderr, "{}: warning: {}\n", prefix, escape_control(warning.to_string()));
    }
    const intel::BlocklistCounts& counts = list->info.counts;
    if (counts.bad_lines > list->warnings.size()) {
      fmt::print(stderr, "{}: warning: {}: {} more bad lines not shown\n", prefix,
                 escape_control(source.path), counts.bad_lines - list->warnings.size());
    }
    if (!quiet) {
      fmt::print(stderr,
                 "{}: blocklist {}: {} entries from {} ({}, {} bad lines, {} "
                 "duplicates)\n",
                 prefix, escape_control(source.name), counts.entries, escape_control(source.path),
                 intel::format_name(list->info.format), counts.bad_lines, counts.duplicates);
    }
    lists.push_back(std::move(*list));
  }

  std::string error;
  *set = intel::BlocklistSet::build(std::move(lists), &error);
  if (!*set) {
    fmt::print(stderr, "{}: --blocklist: {}\n", prefix, escape_control(error));
    return exit_code::kUsage;
  }
  return exit_code::kOk;
}

// Novelty and surge are judged over the store once the run is in it (rules 4301, 4302);
// their events go to the same sinks as every other event. Returns how many there were.
uint64_t report_changes(const std::string& db_path, Timestamp since,
                        const std::vector<RecordSink*>& sinks) {
  std::string error;
  sqlite3* reader = open_store_for_reading(db_path, &error);
  if (!reader) return 0;
  std::vector<Event> events = novelty_and_surge_events(reader, since);
  sqlite3_close(reader);
  for (const Event& event : events) {
    for (RecordSink* sink : sinks) sink->write_event(event);
  }
  for (RecordSink* sink : sinks) sink->flush();
  return events.size();
}

// Set from signal handlers, read by the capture loop.
std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

void on_stop_signal(int) {
  g_stop.store(true);
}
void on_reload_signal(int) {
  g_reload.store(true);
}

void install_live_signals() {
  struct sigaction action {};
  sigemptyset(&action.sa_mask);
  action.sa_handler = on_stop_signal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  action.sa_handler = on_reload_signal;
  sigaction(SIGHUP, &action, nullptr);
}

// Gives up root for `user` once the interface and the output files are open. The store
// files change owner first, so the store can still be written and read as that user.
bool drop_privileges(const std::string& user, const std::vector<std::string>& files,
                     std::string* error) {
  if (geteuid() != 0 || user.empty() || user == "root") return true;
  passwd* entry = getpwnam(user.c_str());
  if (entry == nullptr) {
    *error = "--user: no such user '" + user + "'";
    return false;
  }
  for (const auto& file : files) {
    struct stat status {};
    if (stat(file.c_str(), &status) == 0 &&
        chown(file.c_str(), entry->pw_uid, entry->pw_gid) != 0) {
      *error = "cannot hand " + file + " to " + user + ": " + std::strerror(errno);
      return false;
    }
  }
  if (setgroups(0, nullptr) != 0 || setgid(entry->pw_gid) != 0 || setuid(entry->pw_uid) != 0) {
    *error = "cannot become " + user + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

int run_analyze(const AnalyzeArguments& arguments) {
  const char* prefix = arguments.live ? "spamtap live" : "spamtap analyze";
  Config config;
  if (!arguments.config.empty()) {
    std::string error;
    auto loaded = load_config(arguments.config, &error);
    if (!loaded) {
      fmt::print(stderr, "{}: {}\n", prefix, escape_control(error));
      return exit_code::kUsage;
    }
    config = std::move(*loaded);
  }

  AnalysisOptions options;
  if (config.home) options.home = *config.home;
  options.detection = config.detection;
  if (!arguments.home_net.empty()) {
    std::string bad;
    auto home = HomeNetworks::parse_list(arguments.home_net, &bad);
    if (!home) {
      fmt::print(stderr, "{}: --home-net: '{}' is not an address or CIDR\n", prefix,
                 escape_control(bad));
      return exit_code::kUsage;
    }
    options.home = *home;
  }
  options.bpf_filter = arguments.filter;
  if (std::string error; !check_bpf_filter(arguments.filter, &error)) {
    fmt::print(stderr, "{}: --filter '{}': {}\n", prefix, escape_control(arguments.filter),
               escape_control(error));
    return exit_code::kUsage;
  }
  options.flow.max_connections = arguments.max_connections;
  options.workers = arguments.workers;
  // The interface first: opening it is what needs the privilege to capture.
  std::unique_ptr<LiveCapture> live;
  if (arguments.live) {
    std::string error;
    live = LiveCapture::open(arguments.interface, arguments.filter, &error);
    if (!live) {
      fmt::print(stderr, "{}: {}\n", prefix, escape_control(error));
      return exit_code::kFailure;
    }
  }
  if (!arguments.blocklists.empty() || !config.blocklists.empty()) {
    int loaded = load_blocklists(prefix, arguments.blocklists, config.blocklists, arguments.quiet,
                                 &options.blocklists);
    if (loaded != exit_code::kOk) return loaded;
  }

  std::vector<std::string> syslog_targets = config.syslog_targets;
  syslog_targets.insert(syslog_targets.end(), arguments.syslog.begin(), arguments.syslog.end());
  std::unique_ptr<alert::AlertSink> alerts;
  if (!syslog_targets.empty()) {
    std::string error;
    alerts = alert::AlertSink::create(syslog_targets, alert::AlertOptions{}, &error);
    if (!alerts) {
      fmt::print(stderr, "{}: --syslog: {}\n", prefix, escape_control(error));
      return exit_code::kUsage;
    }
  }

  std::string error;
  auto store = SqliteStore::open(arguments.db, &error);
  if (!store) {
    fmt::print(stderr, "{}: {}\n", prefix, escape_control(error));
    return exit_code::kFailure;
  }
  // The store writes from a thread of its own, so inserts overlap with the analysis.
  ThreadedSink threaded_store(*store);
  std::vector<RecordSink*> sinks{&threaded_store};
  std::unique_ptr<JsonLinesSink> json;
  if (!arguments.json_out.empty()) {
    json = JsonLinesSink::open(arguments.json_out, &error);
    if (!json) {
      fmt::print(stderr, "{}: {}\n", prefix, escape_control(error));
      return exit_code::kFailure;
    }
    sinks.push_back(json.get());
  }
  // The asset tracker writes memberships to the stores; the alerts see every event.
  AssetTracker assets(config.assets, options.home, sinks);
  sinks.push_back(&assets);
  if (alerts) sinks.push_back(alerts.get());

  Pipeline pipeline(options, sinks);
  bool show_progress = !arguments.quiet && isatty(STDERR_FILENO);
  auto started = std::chrono::steady_clock::now();
  auto progress = [&](const Progress& p) {
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    double rate = elapsed > 0 ? static_cast<double>(p.packets) / elapsed : 0;
    std::string percent = p.bytes_total
                              ? fmt::format("{:5.1f}%", 100.0 * static_cast<double>(p.bytes_done) /
                                                            static_cast<double>(p.bytes_total))
                              : std::string("  ?  ");
    fmt::print(stderr, "\r{} {} packets, {} packets/s  ", percent, human_count(p.packets),
               human_count(rate));
  };

  int damaged = 0;
  int unreadable = 0;
  if (live) {
    std::vector<std::string> owned{arguments.db, arguments.db + "-wal", arguments.db + "-shm"};
    if (json && arguments.json_out != "-") owned.push_back(arguments.json_out);
    if (std::string drop_error; !drop_privileges(arguments.user, owned, &drop_error)) {
      fmt::print(stderr, "{}: {}\n", prefix, escape_control(drop_error));
      return exit_code::kFailure;
    }
    install_live_signals();
    if (!arguments.quiet) {
      fmt::print(stderr,
                 "{}: capturing on {}; Ctrl-C or SIGTERM stops, SIGHUP reloads the "
                 "blocklists\n",
                 prefix, escape_control(arguments.interface));
    }
    // LIMITATION: one analysis thread, and a store that falls behind blocks this loop, so
    // the kernel drops frames (counted below) rather than spamtap dropping records.
    auto last_flush = std::chrono::steady_clock::now();
    auto flush_every = std::chrono::duration<double>(arguments.flush_seconds);
    Frame frame;
    uint64_t frames = 0;
    while (!g_stop.load()) {
      LiveCapture::Status status = live->next(&frame);
      if (status == LiveCapture::Status::kError) {
        fmt::print(stderr, "{}: {}: {}\n", prefix, escape_control(arguments.interface),
                   escape_control(live->error()));
        damaged++;
        break;
      }
      if (status == LiveCapture::Status::kFrame) {
        pipeline.process_frame(frame);
        frames++;
      }
      if (g_reload.exchange(false)) {
        std::shared_ptr<const intel::BlocklistSet> reloaded;
        if (load_blocklists(prefix, arguments.blocklists, config.blocklists, arguments.quiet,
                            &reloaded) == exit_code::kOk) {
          pipeline.set_blocklists(std::move(reloaded));
          fmt::print(stderr, "{}: blocklists reloaded\n", prefix);
        } else {
          fmt::print(stderr, "{}: reload failed; the lists loaded before stay in use\n", prefix);
        }
      }
      auto now = std::chrono::steady_clock::now();
      if (now - last_flush >= flush_every) {
        // Makes what was written so far visible to reports run meanwhile.
        threaded_store.flush();
        if (json) json->flush();
        last_flush = now;
        if (show_progress) {
          LiveCaptureStats stats = live->stats();
          fmt::print(stderr, "\r{} frames, {} dropped by the kernel  ", human_count(frames),
                     human_count(stats.dropped_by_kernel));
        }
      }
    }
    if (show_progress) fmt::print(stderr, "\r\033[K");
    LiveCaptureStats stats = live->stats();
    if (!arguments.quiet || stats.dropped_by_kernel + stats.dropped_by_interface > 0) {
      fmt::print(stderr,
                 "{}: {} frames received, {} dropped by the kernel, {} by the "
                 "interface\n",
                 prefix, stats.received, stats.dropped_by_kernel, stats.dropped_by_interface);
    }
  }
  for (const auto& path : arguments.captures) {
    std::string message;
    FileOutcome outcome =
        pipeline.process_file(path, &message,
                              show_progress ? std::function<void(const Progress&)>(progress)
                                            : std::function<void(const Progress&)>());
    if (show_progress) fmt::print(stderr, "\r\033[K");
    if (outcome == FileOutcome::kNotReadable) {
      unreadable++;
      fmt::print(stderr, "{}: {} (skipped)\n", prefix, escape_control(message));
    } else if (outcome == FileOutcome::kDamaged) {
      damaged++;
      fmt::print(stderr, "{}: {}; packets before it were analyzed and are kept\n", prefix,
                 escape_control(message));
    }
  }
  pipeline.finish();
  threaded_store.flush();
  // A run without packets has nothing new in it.
  uint64_t change_events =
      pipeline.has_packets() ? report_changes(arguments.db, pipeline.first_packet(), sinks) : 0;
  if (alerts) alerts->close();
  threaded_store.flush();
  if (json) json->flush();

  double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const auto& counters = pipeline.counters();
  auto count = [&](const char* name) {
    auto it = counters.find(name);
    return it == counters.end() ? uint64_t{0} : it->second;
  };
  if (!arguments.quiet) {
    fmt::print(stderr,
               "{}: {} packets, {} connections, {} SMTP sessions, {} mail "
               "transactions, {} events from {} in {:.2f} s -> {}\n",
               prefix, count("packets"), count("connections"), count("smtp_sessions"),
               count("smtp_transactions"), count("events") + change_events,
               arguments.live ? std::string("the interface")
                              : fmt::format("{} file(s)", arguments.captures.size()),
               elapsed, escape_control(arguments.db));
    if (options.blocklists) {
      fmt::print(stderr,
                 "{}: blocklists: {} of {} connections had a listed end, {} "
                 "blocklist events\n",
                 prefix, count("blocklist_connections_listed"),
                 count("blocklist_connections_checked"), count("blocklist_events"));
    }
    if (alerts) fmt::print(stderr, "{}: {}\n", prefix, alerts->summary());
    if (count("decode.unsupported_link_type") > 0) {
      fmt::print(stderr,
                 "{}: warning: {} frames of a link type spamtap does not decode were "
                 "skipped\n",
                 prefix, count("decode.unsupported_link_type"));
    }
    if (count("connections_evicted") > 0) {
      fmt::print(stderr, "{}: {} connections evicted by --max-connections\n", prefix,
                 count("connections_evicted"));
    }
  }
  if (store->write_errors() > 0) {
    fmt::print(stderr, "{}: {} records could not be stored: {}\n", prefix, store->write_errors(),
               escape_control(store->last_error()));
    return exit_code::kFailure;
  }
  if (json && json->failed()) {
    fmt::print(stderr, "{}: writing {} failed\n", prefix, escape_control(arguments.json_out));
    return exit_code::kFailure;
  }
  if (!arguments.live && unreadable == static_cast<int>(arguments.captures.size())) {
    return exit_code::kFailure;
  }
  if (damaged > 0 || unreadable > 0) return exit_code::kInputDamaged;
  return exit_code::kOk;
}

// The options analyze and live share.
void add_common_options(CLI::App* command, AnalyzeArguments* arguments) {
  command->add_option("--db", arguments->db, "SQLite store to write (created if missing)")
      ->capture_default_str();
  command->add_option("--home-net", arguments->home_net,
                      "Local networks, comma-separated CIDRs (default: private and "
                      "unique-local ranges)");
  command->add_option("--filter", arguments->filter, "BPF filter applied to every frame");
  command->add_option("--json-out", arguments->json_out,
                      "Also write every record as JSON lines to FILE ('-' for stdout)");
  command
      ->add_option("--max-connections", arguments->max_connections,
                   "Cap on connections tracked at once; the least recently active are "
                   "evicted (counted)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 28));
  command
      ->add_option("--blocklist", arguments->blocklists,
                   "IP blocklist to match every connection against, repeatable: "
                   "NAME=PATH[,category=C][,weight=W][,format=F][,categories=PATH]"
                   "[,private=keep|skip]")
      ->type_name("NAME=PATH")
      ->allow_extra_args(false);
  command
      ->add_option("--syslog", arguments->syslog,
                   "Send every event as syslog, repeatable: udp://HOST:PORT or "
                   "tcp://HOST:PORT[?format=5424|3164&cef=1&facility=local0]")
      ->type_name("URL")
      ->allow_extra_args(false);
  command->add_option("--config", arguments->config,
                      "Configuration file (TOML; see config/spamtap.toml.example)");
  command->add_flag("-q,--quiet", arguments->quiet, "No progress line and no summary");
}

}  // namespace

void register_analyze_command(CLI::App& app, int* result) {
  auto arguments = std::make_shared<AnalyzeArguments>();
  CLI::App* command = app.add_subcommand(
      "analyze", "Analyze capture files: connections, SMTP, spam-source events -> store");
  add_common_options(command, arguments.get());
  command
      ->add_option("--workers", arguments->workers,
                   "Analysis threads; connections are split among them by a hash of "
                   "their addresses and ports, with the same results as one. More than 1 "
                   "also puts reading, and detection with the store, on threads of "
                   "their own")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  command->add_option("captures", arguments->captures, "pcap or pcapng files, read in order")
      ->required()
      ->type_name("CAPTURE");
  command->callback([arguments, result] { *result = run_analyze(*arguments); });
}

void register_live_command(CLI::App& app, int* result) {
  auto arguments = std::make_shared<AnalyzeArguments>();
  arguments->live = true;
  CLI::App* command = app.add_subcommand(
      "live",
      "Analyze the traffic of a network interface as it passes, until stopped (SIGINT or "
      "SIGTERM); SIGHUP reloads the blocklist files");
  command->add_option("-i,--interface", arguments->interface, "Interface to capture on")
      ->required();
  add_common_options(command, arguments.get());
  command
      ->add_option("--user", arguments->user,
                   "Run as this user once the interface and the store are open (when "
                   "started as root); 'root' keeps root")
      ->capture_default_str();
  command
      ->add_option("--flush-interval", arguments->flush_seconds,
                   "Seconds between commits of the store, so reports see recent traffic")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  command->callback([arguments, result] { *result = run_analyze(*arguments); });
}

}  // namespace spamtap::cli
