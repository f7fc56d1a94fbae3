// Builds a store of N synthetic connections (default 5,000,000) through SqliteStore, the
// way a run writes them, then times the aggregate update and every report of the
// report layer, unfiltered and filtered. The traffic: 2,000 local desktops and 20
// servers of 10.20.0.0/16 over 7 days from Monday 00:00 UTC, busier on working hours
// and weekdays; web, DNS, mail and a tail of other ports to 20,000 outside addresses;
// one desktop (10.20.0.66) that starts spamming port 25 on day 5.
//   bench_reports STORE [connections]
// `spamtap synth` writes whole packets (about 200 KB a connection on average with the
// office's downloads), so a 5 M connection capture would take hours to write and
// read; this program writes the connection records directly.
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "analysis/report_layer.hpp"
#include "analysis/suspects.hpp"
#include "store/sqlite_store.hpp"

using namespace spamtap;

namespace {

constexpr Timestamp kMonday = 1'741'564'800LL * kNanosPerSecond;  // 2025-03-10T00:00:00Z
constexpr Timestamp kHourNs = seconds(3600);

double since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

IpAddress local_host(uint32_t index) {
  return *IpAddress::parse("10.20." + std::to_string(index / 250) + "." +
                           std::to_string(index % 250 + 1));
}

IpAddress outside_host(uint32_t index) {
  return *IpAddress::parse("198." + std::to_string(18 + index / 65536 % 2) + "." +
                           std::to_string(index / 256 % 256) + "." + std::to_string(index % 256));
}

// Hour weights: working hours on weekdays are busy, nights and weekends quiet.
double hour_weight(int64_t hour) {
  int64_t day = hour / 24;
  int64_t of_day = hour % 24;
  double weight = (of_day >= 8 && of_day < 18) ? 1.0 : 0.08;
  if (day >= 5) weight *= 0.15;
  return weight;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_reports STORE [connections]\n");
    return 2;
  }
  std::string path = argv[1];
  uint64_t total = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 5'000'000;
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());

  std::string error;
  auto store = SqliteStore::open(path, &error, 20000);
  if (!store) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }

  std::mt19937_64 random(7);
  std::vector<IpAddress> locals;
  for (uint32_t i = 0; i < 2020; ++i) locals.push_back(local_host(i));
  std::vector<IpAddress> outside;
  for (uint32_t i = 0; i < 20000; ++i) outside.push_back(outside_host(i));
  IpAddress bot = *IpAddress::parse("10.20.0.66");

  std::vector<double> weights;
  for (int64_t hour = 0; hour < 7 * 24; ++hour) weights.push_back(hour_weight(hour));
  std::discrete_distribution<int64_t> pick_hour(weights.begin(), weights.end());
  std::uniform_int_distribution<uint32_t> pick_desktop(0, 1999);
  std::uniform_int_distribution<uint32_t> pick_server(2000, 2019);
  // Each desktop talks mostly to a few hundred popular sites.
  std::discrete_distribution<uint32_t> pick_outside_rank({50, 25, 15, 10});
  std::uniform_real_distribution<double> unit(0, 1);

  auto start = std::chrono::steady_clock::now();
  Connection c;
  for (uint64_t id = 1; id <= total; ++id) {
    int64_t hour = pick_hour(random);
    Timestamp first = kMonday + hour * kHourNs +
                      static_cast<Timestamp>(unit(random) * static_cast<double>(kHourNs));
    double kind = unit(random);
    uint32_t rank = pick_outside_rank(random);
    uint32_t remote = rank == 0   ? random() % 200
                      : rank == 1 ? random() % 2000
                      : rank == 2 ? random() % 8000
                                  : random() % 20000;
    c.id = id;
    c.key.protocol = 6;
    c.key.originator = locals[pick_desktop(random)];
    c.key.responder = outside[remote];
    c.key.originator_port = static_cast<uint16_t>(32768 + random() % 28000);
    c.originator_local = true;
    c.responder_local = false;
    if (kind < 0.55) {
      c.key.responder_port = 443;
    } else if (kind < 0.70) {
      c.key.responder_port = 80;
    } else if (kind < 0.82) {
      c.key.protocol = 17;
      c.key.responder_port = 53;
      c.key.responder = locals[2000];
      c.responder_local = true;
    } else if (kind < 0.85) {
      c.key.responder_port = 587;
      c.key.responder = locals[2001];
      c.responder_local = true;
    } else if (kind < 0.90) {
      // Inbound: outside clients to the servers.
      c.key.originator = outside[random() % 20000];
      c.originator_local = false;
      c.key.responder = locals[pick_server(random)];
      c.responder_local = true;
      c.key.responder_port = kind < 0.87 ? 25 : kind < 0.89 ? 443 : 22;
    } else if (kind < 0.905 && hour >= 4 * 24) {
      c.key.originator = bot;
      c.key.responder_port = 25;
    } else {
      static const uint16_t kOther[] = {993, 8080, 22, 3389, 6667, 5222, 27015, 123, 1194, 8443};
      c.key.responder_port = kOther[random() % 10];
    }
    c.first_time = first;
    c.last_time = first + static_cast<Timestamp>(unit(random) * 30e9);
    bool refused = unit(random) < 0.03;
    c.tcp_flags_seen = c.key.protocol == 6 ? (refused ? tcp_seen::kSyn | tcp_seen::kRespRst
                                                      : tcp_seen::kSyn | tcp_seen::kSynAck |
                                                            tcp_seen::kHandshakeAck |
                                                            tcp_seen::kOrigFin | tcp_seen::kRespFin)
                                           : 0;
    c.end = refused ? ConnectionEnd::kRst : ConnectionEnd::kFin;
    c.role_rule = RoleRule::kSyn;
    c.originator.packets = 5 + random() % 10;
    c.originator.ip_bytes = 300 + random() % 3000;
    c.originator.payload_bytes = c.originator.ip_bytes - 200;
    c.responder.packets = 5 + random() % 40;
    c.responder.ip_bytes = 300 + random() % 60000;
    c.responder.payload_bytes = c.responder.ip_bytes - 200;
    store->write_connection(c);
  }
  store->flush();
  double insert_seconds = since(start);

  start = std::chrono::steady_clock::now();
  RunRecord run;
  run.first_packet = kMonday;
  run.last_packet = kMonday + 7 * 24 * kHourNs;
  run.inputs = {"bench"};
  store->write_run(run);
  store->flush();
  double update_seconds = since(start);
  store.reset();

  sqlite3* db = open_store_for_reading(path, &error);
  if (!db) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  auto count = [&](const char* sql) {
    sqlite3_stmt* statement = nullptr;
    sqlite3_prepare_v2(db, sql, -1, &statement, nullptr);
    int64_t value = sqlite3_step(statement) == SQLITE_ROW ? sqlite3_column_int64(statement, 0) : -1;
    sqlite3_finalize(statement);
    return value;
  };
  std::printf("connections %lld; insert %.1f s; aggregate update %.1f s\n",
              static_cast<long long>(count("SELECT COUNT(*) FROM connections")), insert_seconds,
              update_seconds);
  std::printf(
      "rows: agg_port_hour %lld, agg_port_total %lld, agg_host_hour %lld, "
      "agg_host_total %lld; store %.0f MB\n",
      static_cast<long long>(count("SELECT COUNT(*) FROM agg_port_hour")),
      static_cast<long long>(count("SELECT COUNT(*) FROM agg_port_total")),
      static_cast<long long>(count("SELECT COUNT(*) FROM agg_host_hour")),
      static_cast<long long>(count("SELECT COUNT(*) FROM agg_host_total")),
      static_cast<double>(count("SELECT page_count * page_size FROM pragma_page_count, "
                                "pragma_page_size")) /
          1e6);
  sqlite3_exec(db, "ATTACH ':memory:' AS scratch", nullptr, nullptr, nullptr);

  struct Variant {
    const char* name;
    ReportOptions options;
  };
  std::vector<Variant> variants(5);
  variants[0].name = "all local hosts";
  variants[1].name = "--host 10.20.0.66";
  variants[1].options.host = "10.20.0.66";
  variants[2].name = "--asset (empty list)";
  variants[2].options.asset = "SPAM Server";
  variants[3].name = "one weekday (--since/--until)";
  variants[3].options.since = kMonday + 2 * 24 * kHourNs;
  variants[3].options.until = kMonday + 3 * 24 * kHourNs;
  variants[4].name = "--host 10.20.8.1 (busiest)";
  variants[4].options.host = "10.20.8.1";  // the DNS server, also a target of inbound traffic

  SqliteSource source(db);
  std::printf("%-17s %-30s %8s %10s\n", "report", "filter", "rows", "seconds");
  for (const auto& report : analysis_reports()) {
    for (const auto& variant : variants) {
      Table table;
      auto begin = std::chrono::steady_clock::now();
      bool ok = run_report(source, report.name, variant.options, &table, &error);
      double elapsed = since(begin);
      std::printf("%-17s %-30s %8zu %10.3f%s\n", std::string(report.name).c_str(), variant.name,
                  table.rows.size(), elapsed, ok ? "" : (" FAILED: " + error).c_str());
    }
  }
  auto begin = std::chrono::steady_clock::now();
  auto events = novelty_and_surge_events(db, kMonday + 4 * 24 * kHourNs);
  std::printf("%-17s %-30s %8zu %10.3f\n", "events", "since day 5", events.size(), since(begin));
  sqlite3_close(db);
  return 0;
}
