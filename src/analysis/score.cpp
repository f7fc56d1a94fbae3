#include "analysis/score.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "detect/blocklist_detector.hpp"
#include "detect/catalog.hpp"

namespace spamtap {

namespace {

struct HostTerms {
  std::map<int, std::vector<Timestamp>> events;  // rule -> event times
  std::vector<double> list_weights;  // per blocklist hit, in the order of its events
  Timestamp first = INT64_MAX;
  Timestamp last = INT64_MIN;
  int64_t count = 0;
  std::string summary;
  std::string evidence;
  int best_severity = 99;
};

int severity_rank(const std::string& severity) {
  if (severity == "high") return 0;
  if (severity == "medium") return 1;
  return 2;
}

int64_t single_count(sqlite3* db, const char* sql, const std::string& host) {
  sqlite3_stmt* statement = nullptr;
  int64_t value = 0;
  if (sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) == SQLITE_OK) {
    sqlite3_bind_text(statement, 1, host.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(statement) == SQLITE_ROW) value = sqlite3_column_int64(statement, 0);
  }
  sqlite3_finalize(statement);
  return value;
}

std::string text_column(sqlite3_stmt* statement, int index) {
  const unsigned char* text = sqlite3_column_text(statement, index);
  return text ? reinterpret_cast<const char*>(text) : "";
}

}  // namespace

Table scored_suspects_report(sqlite3* db, const ReportFilter& filter, const ScoreSettings& settings,
                             bool all_hosts) {
  Table table;
  table.columns = {"host",   "score", "suspect", "first_seen", "last_seen",
                   "events", "rules", "why",     "summary",    "evidence"};

  sqlite3_stmt* statement = nullptr;
  std::string sql = std::string(
                        "SELECT host, rule, time_ns, severity, summary, evidence FROM events "
                        "WHERE ") +
                    kEventFilterSql + " ORDER BY time_ns";
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) return table;
  bind_event_filter(statement, filter);

  std::map<std::string, HostTerms> hosts;
  Timestamp reference = INT64_MIN;
  while (sqlite3_step(statement) == SQLITE_ROW) {
    HostTerms& terms = hosts[text_column(statement, 0)];
    int rule = sqlite3_column_int(statement, 1);
    Timestamp time = sqlite3_column_int64(statement, 2);
    terms.events[rule].push_back(time);
    if (rule == rule_id::kPeerOnBlocklist) {
      // A blocklist hit counts with its list's weight, kept in the evidence.
      auto evidence = nlohmann::json::parse(text_column(statement, 5), nullptr, false);
      double list_weight = 1.0;
      if (evidence.is_object() && evidence.contains("weight") && evidence["weight"].is_number()) {
        list_weight = evidence["weight"].get<double>();
      }
      terms.list_weights.push_back(list_weight);
    }
    terms.first = std::min(terms.first, time);
    terms.last = std::max(terms.last, time);
    terms.count++;
    reference = std::max(reference, time);
    int rank = severity_rank(text_column(statement, 3));
    if (rank < terms.best_severity) {
      terms.best_severity = rank;
      terms.summary = text_column(statement, 4);
      terms.evidence = text_column(statement, 5);
    }
  }
  sqlite3_finalize(statement);

  struct Row {
    double score;
    std::vector<nlohmann::json> cells;
  };
  std::vector<Row> rows;
  for (const auto& [host, terms] : hosts) {
    double score = 0;
    std::string why;
    std::string rules;
    for (const auto& [rule, times] : terms.events) {
      double decayed = 0;
      for (size_t i = 0; i < times.size(); ++i) {
        double age = static_cast<double>(reference - times[i]) /
                     static_cast<double>(std::max<Timestamp>(settings.half_life, 1));
        double scale = 1.0;
        if (rule == rule_id::kPeerOnBlocklist && i < terms.list_weights.size()) {
          scale = terms.list_weights[i];
        }
        decayed += scale * std::pow(0.5, age);
      }
      auto weight_it = settings.weights.find(rule);
      double weight = weight_it == settings.weights.end() ? 1.0 : weight_it->second;
      double term = weight * std::min(decayed, settings.rule_cap);
      score += term;
      rules += fmt::format("{}{}:{}", rules.empty() ? "" : ",", rule, times.size());
      why += fmt::format("{}{}x{} {:+.1f}", why.empty() ? "" : "; ", rule, times.size(), term);
    }

    int64_t mail_reading =
        single_count(db,
                     "SELECT COUNT(*) FROM connections WHERE orig_addr = ?1 AND protocol = 6 AND "
                     "resp_port IN (110, 143, 465, 587, 993, 995)",
                     host);
    int64_t port25_servers =
        single_count(db,
                     "SELECT COUNT(DISTINCT resp_addr) FROM connections WHERE orig_addr = ?1 AND "
                     "protocol = 6 AND resp_port = 25 AND resp_local = 0",
                     host);
    int64_t serves_mail = single_count(
        db, "SELECT COUNT(*) FROM smtp_sessions WHERE server = ?1 AND greeting_code = 220", host);

    if (port25_servers > 2) {
      double charge =
          std::min(settings.port25_charge_cap,
                   settings.port25_server_charge * static_cast<double>(port25_servers - 2));
      score += charge;
      why += fmt::format("; port 25 to {} outside servers {:+.1f}", port25_servers, charge);
    }
    if (mail_reading > 0 && port25_servers <= 2) {
      score -= settings.mail_user_discount;
      why +=
          fmt::format("; reads or submits mail like a user {:+.1f}", -settings.mail_user_discount);
    }
    if (serves_mail > 0) {
      score -= settings.mail_server_discount;
      why += fmt::format("; serves SMTP itself {:+.1f}", -settings.mail_server_discount);
    }
    bool suspect = score >= settings.threshold;
    if (!suspect && !all_hosts) continue;
    double rounded = std::round(score * 10) / 10;
    rows.push_back(
        {score,
         {host, rounded, suspect, format_iso8601(terms.first, 3), format_iso8601(terms.last, 3),
          terms.count, rules, why, terms.summary, terms.evidence}});
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.score > b.score; });
  for (auto& row : rows) table.rows.push_back(std::move(row.cells));
  return table;
}

}  // namespace spamtap
