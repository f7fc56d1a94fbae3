#include "analysis/blocklist_report.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <vector>

#include "core/time.hpp"
#include "detect/blocklist_detector.hpp"

namespace spamtap {

namespace {

// Each hit as the store has it; the evidence carries the list, entry and direction.
constexpr const char* kHitsSql =
    "SELECT e.time_ns, COALESCE(c.end_ns, e.time_ns), e.host, e.peer, e.peer_port, "
    "e.connection_id, e.evidence FROM events e LEFT JOIN connections c ON c.id = "
    "e.connection_id WHERE e.rule = ?4 AND (?1 IS NULL OR e.time_ns >= ?1) AND "
    "(?2 IS NULL OR e.time_ns < ?2) AND (?3 = '' OR e.host = ?3) AND (?5 = '' OR e.host IN "
    "(SELECT host FROM asset_members WHERE list = ?5)) ORDER BY e.id";

// A cell listing many ports stays readable: the first few, then how many more.
constexpr size_t kMaxPortsShown = 12;

struct Hit {
  Timestamp first = 0;
  Timestamp last = 0;
  std::string host;
  std::string remote;
  int64_t remote_port = 0;
  int64_t connection_id = 0;
  std::string list;
  std::string category;
  std::string entry;
  std::string label;
  bool outbound = false;
};

// Everything a row may show, gathered over the hits of one group.
struct Group {
  Timestamp first = INT64_MAX;
  Timestamp last = INT64_MIN;
  std::set<int64_t> connections;
  std::set<int64_t> outbound;
  std::set<int64_t> inbound;
  std::set<std::string> lists;
  std::set<std::string> categories;
  std::set<std::string> hosts;
  std::set<std::string> remotes;
  std::set<std::string> entries;
  std::set<std::string> labels;
  std::set<int64_t> remote_ports;

  void add(const Hit& hit) {
    first = std::min(first, hit.first);
    last = std::max(last, hit.last);
    connections.insert(hit.connection_id);
    (hit.outbound ? outbound : inbound).insert(hit.connection_id);
    lists.insert(hit.list);
    if (!hit.category.empty()) categories.insert(hit.category);
    hosts.insert(hit.host);
    remotes.insert(hit.remote);
    entries.insert(hit.entry);
    if (!hit.label.empty()) labels.insert(hit.label);
    remote_ports.insert(hit.remote_port);
  }
};

std::string column_text(sqlite3_stmt* statement, int index) {
  const unsigned char* text = sqlite3_column_text(statement, index);
  return text ? reinterpret_cast<const char*>(text) : "";
}

std::string string_field(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string join(const std::set<std::string>& values) {
  std::string out;
  for (const auto& value : values) out += (out.empty() ? "" : ", ") + value;
  return out;
}

std::string join_ports(const std::set<int64_t>& ports) {
  std::string out;
  size_t shown = 0;
  for (int64_t port : ports) {
    if (shown == kMaxPortsShown) {
      out += fmt::format(" (+{} more)", ports.size() - shown);
      break;
    }
    out += fmt::format("{}{}", out.empty() ? "" : ",", port);
    shown++;
  }
  return out;
}

// Addresses sort as addresses (10.0.0.9 before 10.0.0.10), anything else as text.
bool address_less(const std::string& a, const std::string& b) {
  auto left = IpAddress::parse(a);
  auto right = IpAddress::parse(b);
  if (left && right) return *left < *right;
  if (left || right) return static_cast<bool>(left);
  return a < b;
}

std::vector<Hit> read_hits(sqlite3* db, const BlocklistReportOptions& options) {
  std::vector<Hit> hits;
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db, kHitsSql, -1, &statement, nullptr) != SQLITE_OK) {
    sqlite3_finalize(statement);
    return hits;
  }
  const ReportFilter& filter = options.filter;
  if (filter.since) sqlite3_bind_int64(statement, 1, *filter.since);
  if (filter.until) sqlite3_bind_int64(statement, 2, *filter.until);
  sqlite3_bind_text(statement, 3, filter.host.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(statement, 4, rule_id::kPeerOnBlocklist);
  sqlite3_bind_text(statement, 5, filter.asset.c_str(), -1, SQLITE_TRANSIENT);

  while (sqlite3_step(statement) == SQLITE_ROW) {
    auto evidence = nlohmann::json::parse(column_text(statement, 6), nullptr, false);
    if (!evidence.is_object()) continue;  // not written by the blocklist detector
    Hit hit;
    hit.list = string_field(evidence, "list");
    if (!options.list.empty() && hit.list != options.list) continue;
    hit.first = sqlite3_column_int64(statement, 0);
    hit.last = std::max(hit.first, static_cast<Timestamp>(sqlite3_column_int64(statement, 1)));
    hit.host = column_text(statement, 2);
    hit.remote = column_text(statement, 3);
    hit.remote_port = sqlite3_column_int64(statement, 4);
    hit.connection_id = sqlite3_column_int64(statement, 5);
    hit.category = string_field(evidence, "category");
    hit.entry = string_field(evidence, "entry");
    hit.label = string_field(evidence, "label");
    hit.outbound = string_field(evidence, "direction") == "outbound";
    hits.push_back(std::move(hit));
  }
  sqlite3_finalize(statement);
  return hits;
}

template <typename Key>
std::vector<std::pair<Key, Group>> group_hits(const std::vector<Hit>& hits,
                                              Key (*key_of)(const Hit&)) {
  std::map<Key, Group> groups;
  for (const Hit& hit : hits) groups[key_of(hit)].add(hit);
  return {groups.begin(), groups.end()};
}

std::string seen(Timestamp time) {
  return format_iso8601(time, 3);
}

Table by_pair(const std::vector<Hit>& hits) {
  using Key = std::tuple<std::string, std::string, std::string>;
  auto groups = group_hits<Key>(hits, [](const Hit& hit) {
    return Key{hit.list, hit.host, hit.remote};
  });
  std::sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
    const auto& [list_a, host_a, remote_a] = a.first;
    const auto& [list_b, host_b, remote_b] = b.first;
    if (list_a != list_b) return list_a < list_b;
    if (a.second.connections.size() != b.second.connections.size()) {
      return a.second.connections.size() > b.second.connections.size();
    }
    if (host_a != host_b) return address_less(host_a, host_b);
    return address_less(remote_a, remote_b);
  });

  Table table;
  table.columns = {"list",        "category",     "host",       "remote",
                   "entry",       "label",        "outbound",   "inbound",
                   "connections", "remote_ports", "first_seen", "last_seen"};
  for (const auto& [key, group] : groups) {
    const auto& [list, host, remote] = key;
    table.rows.push_back({list, join(group.categories), host, remote, join(group.entries),
                          join(group.labels), group.outbound.size(), group.inbound.size(),
                          group.connections.size(), join_ports(group.remote_ports),
                          seen(group.first), seen(group.last)});
  }
  return table;
}

Table by_list(const std::vector<Hit>& hits) {
  auto groups = group_hits<std::string>(hits, [](const Hit& hit) { return hit.list; });
  std::stable_sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
    return a.second.connections.size() > b.second.connections.size();
  });

  Table table;
  table.columns = {"list",     "category", "hosts",       "remotes",    "entries",
                   "outbound", "inbound",  "connections", "first_seen", "last_seen"};
  for (const auto& [list, group] : groups) {
    table.rows.push_back({list, join(group.categories), group.hosts.size(), group.remotes.size(),
                          group.entries.size(), group.outbound.size(), group.inbound.size(),
                          group.connections.size(), seen(group.first), seen(group.last)});
  }
  return table;
}

Table by_host(const std::vector<Hit>& hits) {
  auto groups = group_hits<std::string>(hits, [](const Hit& hit) { return hit.host; });
  std::sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
    if (a.second.lists.size() != b.second.lists.size()) {
      return a.second.lists.size() > b.second.lists.size();
    }
    if (a.second.connections.size() != b.second.connections.size()) {
      return a.second.connections.size() > b.second.connections.size();
    }
    return address_less(a.first, b.first);
  });

  Table table;
  table.columns = {"host",    "lists",       "categories", "remotes",  "outbound",
                   "inbound", "connections", "first_seen", "last_seen"};
  for (const auto& [host, group] : groups) {
    table.rows.push_back({host, join(group.lists), join(group.categories), group.remotes.size(),
                          group.outbound.size(), group.inbound.size(), group.connections.size(),
                          seen(group.first), seen(group.last)});
  }
  return table;
}

Table by_remote(const std::vector<Hit>& hits) {
  auto groups = group_hits<std::string>(hits, [](const Hit& hit) { return hit.remote; });
  std::sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
    if (a.second.connections.size() != b.second.connections.size()) {
      return a.second.connections.size() > b.second.connections.size();
    }
    return address_less(a.first, b.first);
  });

  Table table;
  table.columns = {"remote",   "lists",   "entries",     "labels",     "hosts",
                   "outbound", "inbound", "connections", "first_seen", "last_seen"};
  for (const auto& [remote, group] : groups) {
    table.rows.push_back({remote, join(group.lists), join(group.entries), join(group.labels),
                          group.hosts.size(), group.outbound.size(), group.inbound.size(),
                          group.connections.size(), seen(group.first), seen(group.last)});
  }
  return table;
}

}  // namespace

bool parse_blocklist_grouping(std::string_view text, BlocklistGrouping* grouping) {
  if (text == "pair") {
    *grouping = BlocklistGrouping::kPair;
  } else if (text == "list") {
    *grouping = BlocklistGrouping::kList;
  } else if (text == "host") {
    *grouping = BlocklistGrouping::kHost;
  } else if (text == "remote") {
    *grouping = BlocklistGrouping::kRemote;
  } else {
    return false;
  }
  return true;
}

Table blocklist_report(sqlite3* db, const BlocklistReportOptions& options) {
  std::vector<Hit> hits = read_hits(db, options);
  switch (options.by) {
    case BlocklistGrouping::kPair: return by_pair(hits);
    case BlocklistGrouping::kList: return by_list(hits);
    case BlocklistGrouping::kHost: return by_host(hits);
    case BlocklistGrouping::kRemote: return by_remote(hits);
  }
  return by_pair(hits);
}

}  // namespace spamtap
