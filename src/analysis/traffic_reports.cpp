// The traffic reports: who used which ports, when, how much. All but sessions read the
// aggregates; sessions reads the connections through their indexes.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>

#include "analysis/report_query.hpp"

namespace spamtap {

namespace {

int64_t integer(const nlohmann::json& cell) {
  return cell.is_number_integer() ? cell.get<int64_t>() : 0;
}

std::string port_label(int64_t protocol, int64_t port) {
  return protocol == 6 ? std::to_string(port)
                       : protocol_name(protocol) + "/" + std::to_string(port);
}

const char* weekday(Timestamp time) {
  static const char* const kDays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  int64_t day = floor_divide(time, 24 * kHour);
  return kDays[((day % 7) + 7) % 7];  // 1970-01-01 was a Thursday
}

size_t limit_or(const ReportOptions& options, size_t fallback) {
  return options.limit ? options.limit : fallback;
}

}  // namespace

bool ports_report(ReportSource& source, const ReportOptions& options, Table* table,
                  std::string* error) {
  table->columns = {"role",        "protocol",    "port",       "hosts",
                    "connections", "established", "bytes_sent", "bytes_received",
                    "peers",       "first_seen",  "last_seen"};
  const SqlDialect& dialect = source.dialect();
  QueryBuilder q(dialect);
  std::string where =
      q.aggregate_hosts(options, false) + q.port("port", options) + q.role("role", options);
  std::string limit = q.bind(static_cast<int64_t>(limit_or(options, 1000)));
  Query query = q.finish(fmt::format(
      "SELECT role, protocol, port, {}, SUM(connections), SUM(handshakes), SUM(bytes_sent), "
      "SUM(bytes_received), {}, MIN(first_ns), MAX(last_ns) FROM {} WHERE 1 = 1{} "
      "GROUP BY role, protocol, port ORDER BY SUM(connections) DESC, role, port LIMIT {}",
      dialect.distinct_count("hosts"), dialect.distinct_count("peers"),
      q.aggregate_rows("port", options), where, limit));
  std::vector<ResultRow> rows;
  if (!source.run(query, &rows, error)) return false;
  for (auto& row : rows) {
    table->rows.push_back({role_name(integer(row[0])), protocol_name(integer(row[1])), row[2],
                           row[3], row[4], row[5], row[6], row[7], row[8], time_cell(row[9]),
                           time_cell(row[10])});
  }
  return true;
}

bool client_ports_report(ReportSource& source, const ReportOptions& options, Table* table,
                         std::string* error) {
  table->columns = {"host",  "protocol",   "port",           "connections", "established",
                    "peers", "bytes_sent", "bytes_received", "first_seen",  "last_seen"};
  QueryBuilder q(source.dialect());
  std::string where = q.aggregate_hosts(options, true) + q.port("port", options);
  std::string limit = q.bind(static_cast<int64_t>(limit_or(options, 10000)));
  Query query = q.finish(fmt::format(
      "SELECT host, protocol, port, SUM(connections), SUM(handshakes), {}, SUM(bytes_sent), "
      "SUM(bytes_received), MIN(first_ns), MAX(last_ns) FROM {} "
      "WHERE role = 0 AND host_local = 1{} "
      "GROUP BY host, protocol, port ORDER BY host, SUM(connections) DESC, port LIMIT {}",
      source.dialect().distinct_count("peers"), q.aggregate_rows("port", options), where, limit));
  std::vector<ResultRow> rows;
  if (!source.run(query, &rows, error)) return false;
  for (auto& row : rows) {
    table->rows.push_back({row[0], protocol_name(integer(row[1])), row[2], row[3], row[4], row[5],
                           row[6], row[7], time_cell(row[8]), time_cell(row[9])});
  }
  return true;
}

bool accepts_external_report(ReportSource& source, const ReportOptions& options, Table* table,
                             std::string* error) {
  table->columns = {"host", "port", "outside_clients", "connections", "first_seen", "last_seen"};
  QueryBuilder q(source.dialect());
  std::string where = q.aggregate_hosts(options, true) + q.port("port", options);
  std::string limit = q.bind(static_cast<int64_t>(limit_or(options, 10000)));
  Query query = q.finish(fmt::format(
      "SELECT host, port, {}, SUM(outside_handshakes), MIN(outside_first_ns), "
      "MAX(outside_last_ns) FROM {} WHERE role = 1 AND protocol = 6 AND host_local = 1 AND "
      "outside_handshakes > 0{} GROUP BY host, port ORDER BY host, port LIMIT {}",
      source.dialect().distinct_count("outside_peers"), q.aggregate_rows("port", options), where,
      limit));
  std::vector<ResultRow> rows;
  if (!source.run(query, &rows, error)) return false;
  for (auto& row : rows) {
    table->rows.push_back({row[0], row[1], row[2], row[3], time_cell(row[4]), time_cell(row[5])});
  }
  return true;
}

bool matrix_report(ReportSource& source, const ReportOptions& options, Table* table,
                   std::string* error) {
  QueryBuilder q(source.dialect());
  std::string where =
      q.aggregate_hosts(options, true) + q.port("port", options) + q.role("role", options);
  Query query = q.finish("SELECT host, protocol, port, SUM(connections) FROM " +
                         q.aggregate_rows("port", options) + " WHERE 1 = 1" + where +
                         " GROUP BY host, protocol, port");
  std::vector<ResultRow> rows;
  if (!source.run(query, &rows, error)) return false;

  // Columns: the most used ports (at most `limit`, default 40), busiest first.
  std::map<std::pair<int64_t, int64_t>, int64_t> port_totals;
  std::map<std::string, int64_t> host_totals;
  for (const auto& row : rows) {
    port_totals[{integer(row[1]), integer(row[2])}] += integer(row[3]);
    host_totals[row[0].get<std::string>()] += integer(row[3]);
  }
  std::vector<std::pair<std::pair<int64_t, int64_t>, int64_t>> ports(port_totals.begin(),
                                                                     port_totals.end());
  std::stable_sort(ports.begin(), ports.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  ports.resize(std::min(ports.size(), limit_or(options, 40)));
  std::map<std::pair<int64_t, int64_t>, size_t> column_of;
  table->columns = {"host", "total"};
  for (const auto& [key, total] : ports) {
    column_of[key] = table->columns.size();
    table->columns.push_back(port_label(key.first, key.second));
  }

  std::vector<std::pair<std::string, int64_t>> hosts(host_totals.begin(), host_totals.end());
  std::stable_sort(hosts.begin(), hosts.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::map<std::string, size_t> row_of;
  for (const auto& [host, total] : hosts) {
    row_of[host] = table->rows.size();
    ResultRow line(table->columns.size(), nlohmann::json(0));
    line[0] = host;
    line[1] = total;
    table->rows.push_back(std::move(line));
  }
  for (const auto& row : rows) {
    auto column = column_of.find({integer(row[1]), integer(row[2])});
    if (column == column_of.end()) continue;
    auto& cell = table->rows[row_of[row[0].get<std::string>()]][column->second];
    cell = integer(cell) + integer(row[3]);
  }
  return true;
}

bool activity_report(ReportSource& source, const ReportOptions& options, Table* table,
                     std::string* error) {
  bool per_port = options.per_port || options.port;
  table->columns = {"bucket", "weekday"};
  if (per_port) table->columns.insert(table->columns.end(), {"protocol", "port"});
  table->columns.insert(table->columns.end(),
                        {"hosts", "connections", "bytes_sent", "bytes_received"});

  QueryBuilder q(source.dialect());
  std::string bucket = source.dialect().bucket_hour("hour", options.bucket);
  std::string from = per_port ? "agg_port_hour" : "agg_host_hour";
  std::string where = q.aggregate_hosts(options, false) + q.hour_range("hour", options) +
                      q.role("role", options) + (per_port ? q.port("port", options) : "");
  std::string keys = per_port ? ", protocol, port" : "";
  // The '*' rows hold a connection between two selected hosts twice, as client and as
  // server: its server side counts only when the client was not selected. With remote
  // hosts every client is selected, so the client side alone counts. Bytes need no
  // such care: each side's bytes are sent by one end and received by the other.
  // LIMITATION: with --asset, a connection between two members of the list still counts
  // once for each of them in the connections column.
  std::string connections = "SUM(connections)";
  if (options.host.empty() && !options.asset && options.role == HostRole::kAny) {
    connections = options.include_remote
                      ? "SUM(CASE WHEN role = 0 THEN connections ELSE 0 END)"
                      : "SUM(connections) - SUM(CASE WHEN role = 1 THEN local_peer_connections "
                        "ELSE 0 END)";
  }
  Query query = q.finish(fmt::format(
      "SELECT {0}{1}, {4}, {5}, SUM(bytes_sent), SUM(bytes_received) FROM {2} WHERE 1 = 1{3} "
      "GROUP BY {0}{1} ORDER BY {0}{1}",
      bucket, keys, from, where, source.dialect().distinct_count("hosts"), connections));
  std::vector<ResultRow> rows;
  if (!source.run(query, &rows, error)) return false;

  int64_t step = options.bucket == Bucket::kHour ? 1 : 24;
  auto add = [&](int64_t hour, const ResultRow* row) {
    Timestamp start = hour * kHour;
    ResultRow line = {format_iso8601(start, 0), weekday(start)};
    size_t values = per_port ? 3 : 1;
    if (per_port) {
      line.push_back(protocol_name(integer((*row)[1])));
      line.push_back((*row)[2]);
    }
    for (size_t i = 0; i < 4; ++i) line.push_back(row ? (*row)[values + i] : nlohmann::json(0));
    table->rows.push_back(std::move(line));
  };
  if (per_port) {
    for (const auto& row : rows) add(integer(row[0]), &row);
    return true;
  }

  // One row per bucket, quiet buckets included, so that lows show as lows.
  if (rows.empty()) return true;
  int64_t first = integer(rows.front()[0]);
  int64_t last = integer(rows.back()[0]);
  if (options.since) first = std::min(first, floor_divide(*options.since, kHour * step) * step);
  if (options.until) {
    last = std::max(last, floor_divide(*options.until - 1, kHour * step) * step);
  }
  constexpr int64_t kMostBuckets = 100'000;
  size_t next = 0;
  for (int64_t hour = first; hour <= last && (hour - first) / step < kMostBuckets; hour += step) {
    if (next < rows.size() && integer(rows[next][0]) == hour) {
      add(hour, &rows[next++]);
    } else {
      add(hour, nullptr);
    }
  }
  return true;
}

bool talkers_report(ReportSource& source, const ReportOptions& options, Table* table,
                    std::string* error) {
  table->columns = {"direction",  "rank",           "host",  "connections",
                    "bytes_sent", "bytes_received", "bytes", "peers"};
  const char* order = "sent + received";
  if (options.order == TalkerOrder::kConnections) order = "connection_count";
  if (options.order == TalkerOrder::kPeers) order = "peer_count";

  for (int64_t role : {int64_t{0}, int64_t{1}}) {
    if (options.role == HostRole::kClient && role == 1) continue;
    if (options.role == HostRole::kServer && role == 0) continue;
    QueryBuilder q(source.dialect());
    // The host rows hold each host's peers over all its ports; a port needs the port rows.
    std::string from = q.aggregate_rows(options.port ? "port" : "host", options);
    std::string where = fmt::format(" AND role = {}", q.bind(role)) +
                        q.aggregate_hosts(options, true) + q.port("port", options);
    std::string limit = q.bind(static_cast<int64_t>(limit_or(options, 20)));
    Query query = q.finish(fmt::format(
        "SELECT host, SUM(connections) AS connection_count, SUM(bytes_sent) AS sent, "
        "SUM(bytes_received) AS received, {} AS peer_count FROM {} WHERE 1 = 1{} GROUP BY host "
        "ORDER BY {} DESC, host LIMIT {}",
        source.dialect().distinct_count("peers"), from, where, order, limit));
    std::vector<ResultRow> rows;
    if (!source.run(query, &rows, error)) return false;
    int64_t rank = 0;
    for (auto& row : rows) {
      table->rows.push_back({role == 0 ? "outbound" : "inbound", ++rank, row[0], row[1], row[2],
                             row[3], integer(row[2]) + integer(row[3]), row[4]});
    }
  }
  return true;
}

bool sessions_report(ReportSource& source, const ReportOptions& options, Table* table,
                     std::string* error) {
  table->columns = {"id",          "start",    "end",         "duration_s",   "client",
                    "client_port", "server",   "server_port", "client_bytes", "server_bytes",
                    "bytes_per_s", "ended_by", "state",       "helo"};
  QueryBuilder q(source.dialect());
  std::string limit = q.bind(static_cast<int64_t>(limit_or(options, 1000)));
  std::string rest = q.time_range("c.start_ns", options) + q.port("c.resp_port", options);
  // One end's connections, oldest first, through that end's (address, start) index.
  auto select = [&](const std::string& hosts) {
    return "SELECT c.id AS id, c.start_ns AS start_ns, c.end_ns, c.orig_addr, c.orig_port, "
           "c.resp_addr, c.resp_port, c.orig_ip_bytes, c.resp_ip_bytes, c.ended_by, c.state, "
           "s.helo FROM connections c LEFT JOIN smtp_sessions s ON s.connection_id = c.id "
           "WHERE c.protocol = 6 AND c.handshake = 1 AND c.ended_by IN ('fin', 'rst')" +
           hosts + rest + " ORDER BY c.start_ns, c.id LIMIT " + limit;
  };
  auto side = [&](const char* column) {
    ReportOptions one = options;
    one.include_remote = true;
    return "(1 = 1" + q.host_set(column, one, "") + ")";
  };

  // The host filter applies to either end, or to the end the role names. For either
  // end, each side is read in time order through its own index and the two merged, so
  // that a busy host costs the rows shown, not all of its connections; a connection
  // with both ends selected comes from the client side only.
  std::string sql;
  bool filtered = !options.host.empty() || options.asset;
  if (!filtered) {
    sql = select("");
  } else if (options.role == HostRole::kClient) {
    sql = select(" AND " + side("c.orig_addr"));
  } else if (options.role == HostRole::kServer) {
    sql = select(" AND " + side("c.resp_addr"));
  } else {
    std::string client = side("c.orig_addr");
    std::string server = " AND " + side("c.resp_addr") + " AND NOT " + side("c.orig_addr");
    sql = "SELECT * FROM (SELECT * FROM (" + select(" AND " + client) +
          ") UNION ALL SELECT * FROM (" + select(server) + ")) ORDER BY start_ns, id LIMIT " +
          limit;
  }
  Query query = q.finish(sql);
  std::vector<ResultRow> rows;
  if (!source.run(query, &rows, error)) return false;
  for (auto& row : rows) {
    int64_t duration_ns = integer(row[2]) - integer(row[1]);
    double duration = static_cast<double>(duration_ns) / 1e9;
    int64_t bytes = integer(row[7]) + integer(row[8]);
    nlohmann::json rate =
        duration_ns > 0
            ? nlohmann::json(static_cast<int64_t>(static_cast<double>(bytes) / duration + 0.5))
            : nlohmann::json(nullptr);
    table->rows.push_back({row[0], time_cell(row[1]), time_cell(row[2]),
                           std::round(duration * 1000.0) / 1000.0, row[3], row[4], row[5], row[6],
                           row[7], row[8], rate, row[9], row[10], row[11]});
  }
  return true;
}

}  // namespace spamtap
