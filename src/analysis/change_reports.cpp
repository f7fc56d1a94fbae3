// What changed: items never seen before the learning period ended, and buckets where a
// host or port rose far above its own recent baseline. Both also become events.
#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <tuple>
#include <unordered_map>

#include "analysis/report_query.hpp"

namespace spamtap {

namespace {

int64_t integer(const nlohmann::json& cell) {
  return cell.is_number_integer() ? cell.get<int64_t>() : 0;
}

std::string novelty_item(const std::string& kind, int64_t protocol, int64_t port,
                         const std::string& list) {
  if (kind == "server_port" || kind == "client_port") {
    return protocol_name(protocol) + "/" + std::to_string(port);
  }
  if (kind == "list_pair") return list;
  return "";
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  size_t middle = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<ptrdiff_t>(middle), values.end());
  double upper = values[middle];
  if (values.size() % 2 == 1) return upper;
  double lower = *std::max_element(values.begin(), values.begin() + static_cast<ptrdiff_t>(middle));
  return (lower + upper) / 2;
}

struct SurgeRow {
  std::string kind;  // "host" or "port"
  std::string key;
  std::string metric;  // "connections" or "peers"
  int64_t bucket_hour = 0;
  int64_t value = 0;
  double baseline = 0;
  double mad = 0;
  double threshold = 0;
  int64_t window_peak = 0;
};

// One series: the values of one key and metric in consecutive buckets from `first`
// (an hour number); kNoRow where the key had no traffic.
constexpr int64_t kNoRow = -1;
struct Series {
  int64_t first = 0;
  std::vector<int64_t> values;

  void set(int64_t bucket, int64_t step, int64_t value) {
    if (values.empty()) first = bucket;
    size_t index = static_cast<size_t>((bucket - first) / step);
    if (values.size() <= index) values.resize(index + 1, kNoRow);
    values[index] = value;
  }
};

void find_surges(const std::string& kind, const std::string& key, const std::string& metric,
                 const Series& series, int64_t data_start, int64_t step,
                 const ReportOptions& options, std::vector<SurgeRow>* out) {
  int history = options.surge.history > 0 ? options.surge.history
                                          : (options.bucket == Bucket::kHour ? 24 : 14);
  int64_t first_output =
      options.since ? floor_divide(*options.since, kHour * step) * step : INT64_MIN;
  int64_t last_output =
      options.until ? floor_divide(*options.until - 1, kHour * step) * step : INT64_MAX;
  // A baseline is the series' own past: a host or port first seen now is new, not
  // surging, however much it does.
  int64_t own_start = std::max(data_start, series.first);
  std::vector<double> window;
  std::vector<double> deviations;
  for (size_t i = 0; i < series.values.size(); ++i) {
    int64_t value = series.values[i];
    int64_t bucket = series.first + static_cast<int64_t>(i) * step;
    if (value == kNoRow || bucket < first_output || bucket > last_output) continue;
    if (value <= options.surge.min_jump) continue;  // cannot pass the threshold
    int64_t window_start = std::max(bucket - history * step, own_start);
    int64_t buckets = (bucket - window_start) / step;
    if (buckets * 2 < history) continue;  // too little history to judge

    // The cheaper of the two tests first: most buckets of a busy network fail it.
    size_t from = static_cast<size_t>((window_start - series.first) / step);
    int64_t peak = 0;
    for (size_t j = from; j < i; ++j) peak = std::max(peak, series.values[j]);
    if (value <= 2 * peak) continue;

    window.clear();
    for (size_t j = from; j < i; ++j) {
      window.push_back(static_cast<double>(std::max<int64_t>(series.values[j], 0)));
    }
    double baseline = median(window);
    deviations.clear();
    for (double w : window) deviations.push_back(std::abs(w - baseline));
    double mad = median(deviations);
    double threshold = baseline + std::max(static_cast<double>(options.surge.min_jump), 5 * mad);
    if (static_cast<double>(value) > threshold) {
      out->push_back({kind, key, metric, bucket, value, baseline, mad, threshold, peak});
    }
  }
}

bool collect_surges(ReportSource& source, const ReportOptions& options, std::vector<SurgeRow>* out,
                    std::string* error) {
  int64_t step = options.bucket == Bucket::kHour ? 1 : 24;
  int history = options.surge.history > 0 ? options.surge.history
                                          : (options.bucket == Bucket::kHour ? 24 : 14);
  std::vector<ResultRow> start;
  if (!source.run({"SELECT MIN(hour) FROM agg_host_hour", {}}, &start, error)) return false;
  if (start.empty() || !start[0][0].is_number_integer()) return true;  // an empty store
  int64_t data_start = floor_divide(integer(start[0][0]), step) * step;
  // Day rows hold the first hour of their day, so they are their own day bucket.
  std::string level = options.bucket == Bucket::kHour ? "hour" : "day";

  // Hosts: per host and bucket; ports: per service port and bucket over the selected
  // hosts (the '*' rows when none are named). Grouped by bucket first, the order of the
  // tables' keys, so that the store streams the groups instead of sorting them; the
  // series of each host or port are gathered here.
  for (const char* kind : {"host", "port"}) {
    bool hosts = std::string_view(kind) == "host";
    QueryBuilder q(source.dialect());
    bool host_rows = hosts && !options.port;
    std::string from = fmt::format("agg_{}_{}", host_rows ? "host" : "port", level);
    std::string where = q.aggregate_hosts(options, hosts) +
                        q.hour_range("hour", options, history * step + step) +
                        q.role("role", options) + (host_rows ? "" : q.port("port", options));
    std::string keys = hosts ? "host" : "protocol, port";
    Query query = q.finish(fmt::format(
        "SELECT hour, {0}, SUM(connections), {3} FROM {1} WHERE 1 = 1{2} GROUP BY hour, {0}", keys,
        from, where, source.dialect().distinct_count("peers")));
    std::vector<ResultRow> rows;
    if (!source.run(query, &rows, error)) return false;

    // Hosts sort by address text, ports by protocol and number.
    struct KeySeries {
      std::string label;
      std::tuple<std::string, int64_t, int64_t> order;
      Series connections;
      Series peers;
    };
    std::vector<KeySeries> series;
    std::unordered_map<std::string, size_t> index_of;
    size_t values = hosts ? 2 : 3;
    for (const auto& row : rows) {
      std::string label =
          hosts ? row[1].get<std::string>()
                : protocol_name(integer(row[1])) + "/" + std::to_string(integer(row[2]));
      auto [found, added] = index_of.try_emplace(label, series.size());
      if (added) {
        auto order = hosts ? std::make_tuple(label, int64_t{0}, int64_t{0})
                           : std::make_tuple(std::string(), integer(row[1]), integer(row[2]));
        series.push_back({label, order, {}, {}});
      }
      KeySeries& entry = series[found->second];
      int64_t at = integer(row[0]);
      entry.connections.set(at, step, integer(row[values]));
      entry.peers.set(at, step, integer(row[values + 1]));
    }
    std::sort(series.begin(), series.end(),
              [](const KeySeries& a, const KeySeries& b) { return a.order < b.order; });
    for (const auto& entry : series) {
      find_surges(kind, entry.label, "connections", entry.connections, data_start, step, options,
                  out);
      find_surges(kind, entry.label, "peers", entry.peers, data_start, step, options, out);
    }
  }
  std::stable_sort(out->begin(), out->end(), [](const SurgeRow& a, const SurgeRow& b) {
    return a.bucket_hour < b.bucket_hour;
  });
  return true;
}

double rounded(double value) {
  return std::round(value * 100.0) / 100.0;
}

}  // namespace

bool novel_report(ReportSource& source, const ReportOptions& options, Table* table,
                  std::string* error) {
  table->columns = {"kind", "host", "item", "first_seen", "run"};
  QueryBuilder q(source.dialect());
  std::string learned;
  if (options.learn_until) {
    learned = "first_ns >= " + q.bind(*options.learn_until);
  } else {
    // Nothing is new before a learning run exists.
    learned = "run_id > COALESCE((SELECT value FROM agg_state WHERE key = 'learning_run'), " +
              q.bind(INT64_MAX) + ")";
  }
  std::string where = q.host_set("host", options, "") + q.time_range("first_ns", options);
  if (options.port) {
    where += fmt::format(" AND kind IN ('server_port', 'client_port') AND port = {}",
                         q.bind(int64_t{*options.port}));
  }
  if (options.role == HostRole::kClient) where += " AND kind = 'client_port'";
  if (options.role == HostRole::kServer) where += " AND kind = 'server_port'";
  std::string limit = q.bind(static_cast<int64_t>(options.limit ? options.limit : 10000));
  Query query = q.finish(
      "SELECT kind, host, protocol, port, list, first_ns, run_id "
      "FROM novelty_seen WHERE " +
      learned + where + " ORDER BY first_ns, kind, host, protocol, port, list LIMIT " + limit);
  std::vector<ResultRow> rows;
  if (!source.run(query, &rows, error)) return false;
  for (auto& row : rows) {
    std::string kind = row[0].get<std::string>();
    table->rows.push_back(
        {kind, row[1],
         novelty_item(kind, integer(row[2]), integer(row[3]), row[4].get<std::string>()),
         time_cell(row[5]), row[6]});
  }
  return true;
}

bool surge_report(ReportSource& source, const ReportOptions& options, Table* table,
                  std::string* error) {
  table->columns = {"bucket", "kind",      "key",         "metric", "value", "baseline",
                    "mad",    "threshold", "window_peak", "jump",   "ratio"};
  std::vector<SurgeRow> surges;
  if (!collect_surges(source, options, &surges, error)) return false;
  size_t limit = options.limit ? options.limit : 10000;
  for (const auto& s : surges) {
    if (table->rows.size() >= limit) break;
    double jump = static_cast<double>(s.value) - s.baseline;
    double ratio = static_cast<double>(s.value) / std::max(s.baseline, 1.0);
    table->rows.push_back({format_iso8601(s.bucket_hour * kHour, 0), s.kind, s.key, s.metric,
                           s.value, rounded(s.baseline), rounded(s.mad), rounded(s.threshold),
                           s.window_peak, rounded(jump), rounded(ratio)});
  }
  return true;
}

std::vector<Event> novelty_and_surge_events(sqlite3* db, Timestamp since,
                                            const SurgeSettings& surge) {
  std::vector<Event> events;
  SqliteSource source(db);
  ReportOptions options;
  options.since = since;
  options.surge = surge;
  std::string error;

  Table novel;
  if (novel_report(source, options, &novel, &error)) {
    for (const auto& row : novel.rows) {
      auto host = IpAddress::parse(row[1].get<std::string>());
      if (!host) continue;
      std::string kind = row[0].get<std::string>();
      std::string item = row[2].get<std::string>();
      Event event;
      event.host = *host;
      event.rule = rule_id::kNeverSeenBefore;
      event.severity = Severity::kLow;
      parse_time(row[3].get<std::string>(), &event.time);
      if (kind == "host") {
        event.summary = "new host " + row[1].get<std::string>();
      } else if (kind == "list_pair") {
        event.summary = fmt::format("{} joined asset list '{}' for the first time",
                                    row[1].get<std::string>(), item);
      } else {
        event.summary =
            fmt::format("{} used {} as a {} for the first time", row[1].get<std::string>(), item,
                        kind == "server_port" ? "server" : "client");
        size_t slash = item.find('/');
        if (slash != std::string::npos) {
          event.peer_port = static_cast<uint16_t>(std::atoi(item.c_str() + slash + 1));
        }
      }
      event.evidence = fmt::format("kind={} item={} first_seen={} run={}", kind, item,
                                   row[3].get<std::string>(), integer(row[4]));
      events.push_back(std::move(event));
    }
  }

  std::vector<SurgeRow> surges;
  if (collect_surges(source, options, &surges, &error)) {
    for (const auto& s : surges) {
      if (s.kind != "host") continue;
      auto host = IpAddress::parse(s.key);
      if (!host) continue;
      Event event;
      event.time = s.bucket_hour * kHour;
      event.host = *host;
      event.rule = rule_id::kSurge;
      event.severity = Severity::kMedium;
      event.summary = fmt::format("{}: {} {} in the hour from {}, baseline {:.1f}", s.key, s.value,
                                  s.metric, format_iso8601(event.time, 0), s.baseline);
      event.evidence = fmt::format(
          "metric={} value={} baseline_median={:.2f} mad={:.2f} threshold={:.2f} "
          "window_peak={}",
          s.metric, s.value, s.baseline, s.mad, s.threshold, s.window_peak);
      events.push_back(std::move(event));
    }
  }
  return events;
}

}  // namespace spamtap
