#include "detect/spam_detector.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include "core/text.hpp"
#include "detect/catalog.hpp"

namespace spamtap {

namespace {

// Windowed per-client history is bounded; older entries beyond this are dropped
// (they would only make a run of refusals look longer than the window allows).
constexpr size_t kMaxOutcomesPerClient = 10000;
constexpr size_t kMaxServersPerClient = 4096;

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

template <size_t N>
bool contains_any(std::string_view text, const std::array<std::string_view, N>& words) {
  return std::any_of(words.begin(), words.end(),
                     [&](std::string_view word) { return contains(text, word); });
}

bool is_relay_denial(std::string_view text) {
  if (!contains(text, "relay")) return false;
  constexpr std::array<std::string_view, 10> kDenials{
      "denied",   "not permitted",   "not allowed",     "prohibited", "refused",
      "rejected", "unable to relay", "we do not relay", "no relay",   "not authorized"};
  return contains_any(text, kDenials);
}

bool is_unknown_user(const smtp::Reply& reply, std::string_view text) {
  if (reply.enhanced_status == "5.1.1") return true;
  constexpr std::array<std::string_view, 13> kPhrases{
      "user unknown",      "unknown user",        "no such user",      "mailbox unavailable",
      "mailbox not found", "does not exist",      "invalid recipient", "unknown recipient",
      "no mailbox",        "recipient not found", "user not found",    "no such recipient",
      "address unknown"};
  return contains_any(text, kPhrases);
}

bool is_spam_or_policy(const smtp::Reply& reply, std::string_view text) {
  constexpr std::array<std::string_view, 9> kPhrases{
      "spam", "content rejected", "message rejected", "policy", "junk", "virus", "malware", "phish",
      "bulk"};
  return reply.enhanced_status.rfind("5.7.", 0) == 0 || contains_any(text, kPhrases);
}

bool is_throttle(std::string_view text) {
  constexpr std::array<std::string_view, 11> kPhrases{
      "greylist",           "graylist",   "grey-list", "try again later", "too many connections",
      "too many messages",  "rate limit", "ratelimit", "rate-limit",      "throttl",
      "too many concurrent"};
  return contains_any(text, kPhrases);
}

// Names of DNS blocklists as receivers quote them, and the label the evidence uses.
struct BlocklistName {
  std::string_view needle;
  std::string_view label;
};
constexpr std::array<BlocklistName, 17> kBlocklistNames{{
    {"spamhaus", "Spamhaus"},
    {"spamcop", "SpamCop"},
    {"barracuda", "Barracuda"},
    {"sorbs", "SORBS"},
    {"abuseat", "CBL"},
    {"cbl.", "CBL"},
    {"uceprotect", "UCEPROTECT"},
    {"psbl", "PSBL"},
    {"mailspike", "Mailspike"},
    {"spamrats", "SpamRATS"},
    {"dronebl", "DroneBL"},
    {"blocked using", "DNSBL"},
    {"dnsbl", "DNSBL"},
    {"blocklist", "DNSBL"},
    {"blacklist", "DNSBL"},
    {"block list", "DNSBL"},
    {"listed at", "DNSBL"},
}};

bool mentions_address(std::string_view text, const std::string& address) {
  for (size_t at = text.find(address); at != std::string_view::npos;
       at = text.find(address, at + 1)) {
    auto is_boundary = [](char c) {
      return !std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != ':';
    };
    bool left = at == 0 || is_boundary(text[at - 1]);
    size_t end = at + address.size();
    bool right = end >= text.size() || is_boundary(text[end]) ||
                 (text[end] == '.' && (end + 1 >= text.size() || text[end + 1] == ' '));
    if (left && right) return true;
  }
  return false;
}

std::string reply_line(const smtp::Reply& reply) {
  if (reply.enhanced_status.empty() || reply.text.rfind(reply.enhanced_status, 0) == 0) {
    return fmt::format("{} {}", reply.code, reply.text);
  }
  return fmt::format("{} {} {}", reply.code, reply.enhanced_status, reply.text);
}

Event make_event(const SmtpContext& context, Timestamp time, int rule) {
  Event event;
  event.time = time;
  event.host = context.client;
  event.peer = context.server;
  event.peer_port = context.server_port;
  event.rule = rule;
  event.connection_id = context.connection_id;
  if (const RuleInfo* info = find_rule(rule)) event.severity = info->severity;
  return event;
}

bool is_valid_hostname(std::string_view name) {
  if (name.empty() || name.size() > 253 || name.find('.') == std::string_view::npos) {
    return false;
  }
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return name.front() != '.' && name.front() != '-';
}

bool matches_name(const std::vector<std::string>& names, const std::string& software) {
  std::string lowered = lower(software);
  return std::any_of(names.begin(), names.end(), [&](const std::string& name) {
    return !name.empty() && contains(lowered, lower(name));
  });
}

}  // namespace

RefusalKind classify_refusal(const smtp::Reply& reply, std::string* blocklist_name) {
  if (reply.code < 400 || reply.code > 599) return RefusalKind::kNone;
  std::string text = lower(reply.text);
  for (const auto& name : kBlocklistNames) {
    if (contains(text, name.needle)) {
      if (blocklist_name) *blocklist_name = name.label;
      return RefusalKind::kBlocklisted;
    }
  }
  if (reply.code >= 500 && is_relay_denial(text)) return RefusalKind::kRelayDenied;
  if (reply.code >= 500 && is_unknown_user(reply, text)) return RefusalKind::kUnknownUser;
  bool temporary = reply.code == 421 || reply.code == 450 || reply.code == 451;
  if (temporary && is_throttle(text)) return RefusalKind::kThrottled;
  if (reply.code >= 500 && is_spam_or_policy(reply, text)) return RefusalKind::kSpamOrPolicy;
  return RefusalKind::kNone;
}

std::vector<std::string> helo_habits(const std::string& helo, const IpAddress& client) {
  std::vector<std::string> habits;
  std::string_view name = helo;
  if (name.empty()) {
    habits.push_back("empty_helo");
    return habits;
  }
  bool bracketed = name.size() > 2 && name.front() == '[' && name.back() == ']';
  std::string_view literal = bracketed ? name.substr(1, name.size() - 2) : name;
  if (literal.rfind("IPv6:", 0) == 0) literal.remove_prefix(5);
  if (auto address = IpAddress::parse(literal)) {
    // RFC 5321 wants an address literal in brackets; either way, it should be the
    // client's own address.
    if (!(*address == client)) habits.push_back("helo_ip_not_own");
    if (!bracketed) habits.push_back("bare_ip_helo");
  } else if (!is_valid_hostname(name)) {
    habits.push_back("helo_not_a_name");
  }
  return habits;
}

SpamDetector::SpamDetector(DetectionSettings settings) : settings_(std::move(settings)) {
  for (const auto& server : settings_.mail_servers) mail_servers_.insert(server);
}

bool SpamDetector::is_mail_server(const IpAddress& host) const {
  return mail_servers_.count(host) > 0;
}

void SpamDetector::on_greeting(const SmtpContext& context, const smtp::Reply& greeting) {
  if (greeting.code == 0) return;
  if (context.server_local && greeting.code == 220 &&
      (context.server_port == 25 || context.server_port == 465 || context.server_port == 587)) {
    mail_servers_.insert(context.server);
  }
  if (greeting.code == 220 && !greeting.text.empty()) {
    software_.push_back({greeting.time, context.server, context.server_port, "server",
                         "smtp-banner", std::string(truncate_utf8(greeting.text, 256)),
                         context.connection_id});
  }
  record_server(context, greeting.time);
  check_reply(context, greeting, "greeting");
}

void SpamDetector::on_exchange(const SmtpContext& context, const smtp::Exchange& exchange) {
  const smtp::Reply& reply = exchange.reply;
  if (reply.code == 0) return;
  record_server(context, reply.time);
  check_reply(context, reply, exchange.verb);

  if (exchange.verb != "RCPT") return;
  RefusalKind kind = classify_refusal(reply, nullptr);
  if (kind == RefusalKind::kRelayDenied) {
    Event event = make_event(context, reply.time, rule_id::kRelayingDenied);
    event.summary = fmt::format("{} refused to relay for {} (RCPT {})", context.server.to_string(),
                                context.client.to_string(), exchange.argument);
    event.evidence = reply_line(reply);
    events_.push_back(std::move(event));
  }
  record_recipient(context, exchange, kind == RefusalKind::kUnknownUser);
}

void SpamDetector::check_reply(const SmtpContext& context, const smtp::Reply& reply,
                               const std::string& verb) {
  if (reply.code < 400) return;
  SessionState& session = sessions_[context.connection_id];
  session.refusals++;

  std::string list;
  RefusalKind kind = classify_refusal(reply, &list);
  if (kind == RefusalKind::kBlocklisted && !session.blocklist_reported) {
    session.blocklist_reported = true;
    Event event = make_event(context, reply.time, rule_id::kBlocklistedByReceiver);
    bool own_address = mentions_address(reply.text, context.client.to_string());
    event.summary = fmt::format("{} refused {} citing {} (reply to {}){}",
                                context.server.to_string(), context.client.to_string(), list, verb,
                                own_address ? "; the reply names the client's own address" : "");
    event.evidence = reply_line(reply);
    events_.push_back(std::move(event));
  } else if (kind == RefusalKind::kThrottled && !session.throttle_reported) {
    session.throttle_reported = true;
    Event event = make_event(context, reply.time, rule_id::kThrottled);
    event.summary = fmt::format("{} throttled or greylisted {} (reply to {})",
                                context.server.to_string(), context.client.to_string(), verb);
    event.evidence = reply_line(reply);
    events_.push_back(std::move(event));
  }
}

void SpamDetector::record_recipient(const SmtpContext& context, const smtp::Exchange& exchange,
                                    bool unknown_user) {
  ClientState& client = clients_[context.client];
  Timestamp now = exchange.reply.time;
  client.outcomes.push_back({now, unknown_user});
  if (unknown_user) {
    client.unknown_in_window++;
    client.last_unknown_text = reply_line(exchange.reply);
  }
  while (!client.outcomes.empty() &&
         (now - client.outcomes.front().time > settings_.unknown_recipients_window ||
          client.outcomes.size() > kMaxOutcomesPerClient)) {
    if (client.outcomes.front().unknown_user) client.unknown_in_window--;
    client.outcomes.pop_front();
  }

  int total = static_cast<int>(client.outcomes.size());
  bool enough = client.unknown_in_window >= settings_.unknown_recipients_min_count &&
                client.unknown_in_window >= settings_.unknown_recipients_min_share * total;
  bool armed = client.unknown_last_fired == INT64_MIN ||
               now - client.unknown_last_fired > settings_.unknown_recipients_window;
  if (!enough || !armed || !unknown_user) return;

  client.unknown_last_fired = now;
  Event event = make_event(context, now, rule_id::kUnknownRecipients);
  auto window_minutes = settings_.unknown_recipients_window / seconds(60);
  event.summary = fmt::format("{} of {} recipients refused as unknown within {} min",
                              client.unknown_in_window, total, window_minutes);
  event.evidence = client.last_unknown_text;
  events_.push_back(std::move(event));
}

void SpamDetector::record_server(const SmtpContext& context, Timestamp time) {
  // 4126 counts outside servers talked to by a local host, once per connection.
  if (!context.client_local || context.server_local) return;
  if (!fan_out_counted_.insert(context.connection_id).second) return;

  ClientState& client = clients_[context.client];
  client.servers.emplace_back(time, context.server);
  while (!client.servers.empty() &&
         (time - client.servers.front().first > settings_.fan_out_window ||
          client.servers.size() > kMaxServersPerClient)) {
    client.servers.pop_front();
  }
  if (is_mail_server(context.client)) return;

  std::unordered_set<IpAddress> distinct;
  for (const auto& [when, server] : client.servers) distinct.insert(server);
  int count = static_cast<int>(distinct.size());
  bool armed = client.fan_out_last_fired == INT64_MIN ||
               time - client.fan_out_last_fired > settings_.fan_out_window;
  if (count <= settings_.fan_out_min_servers || !armed) return;

  client.fan_out_last_fired = time;
  Event event = make_event(context, time, rule_id::kDirectToMxFanOut);
  event.summary = fmt::format(
      "{} talked SMTP to {} distinct outside servers within {} min "
      "and is not a mail server",
      context.client.to_string(), count, settings_.fan_out_window / seconds(60));
  std::string servers;
  int listed = 0;
  for (const auto& server : distinct) {
    if (listed++ == 10) {
      servers += " ...";
      break;
    }
    servers += (servers.empty() ? "" : " ") + server.to_string();
  }
  event.evidence = "servers: " + servers;
  events_.push_back(std::move(event));
}

void SpamDetector::on_transaction(const SmtpContext& context,
                                  const smtp::Transaction& transaction) {
  const smtp::Reply& end = transaction.end_of_data_reply;
  if (end.code >= 500 && classify_refusal(end, nullptr) == RefusalKind::kSpamOrPolicy) {
    Event event = make_event(context, end.time, rule_id::kRefusedAsSpam);
    event.summary = fmt::format("{} refused a message from {} as spam or by policy",
                                context.server.to_string(), context.client.to_string());
    event.evidence = reply_line(end);
    events_.push_back(std::move(event));
  }
  if (!transaction.x_mailer.empty()) {
    check_software(context, transaction, "x-mailer", transaction.x_mailer);
  }
  if (!transaction.user_agent.empty()) {
    check_software(context, transaction, "user-agent", transaction.user_agent);
  }
}

void SpamDetector::check_software(const SmtpContext& context, const smtp::Transaction& transaction,
                                  const std::string& kind, const std::string& name) {
  software_.push_back({transaction.time, context.client, 0, "client", kind,
                       std::string(truncate_utf8(name, 256)), context.connection_id});
  if (matches_name(settings_.ordinary_mailers, name)) {
    sessions_[context.connection_id].ordinary_software = name;
  }
  if (!matches_name(settings_.bulk_mailers, name)) return;

  ClientState& client = clients_[context.client];
  if (client.bulk_last_fired != INT64_MIN &&
      transaction.time - client.bulk_last_fired <= settings_.repeat_window) {
    return;
  }
  client.bulk_last_fired = transaction.time;
  Event event = make_event(context, transaction.time, rule_id::kBulkMailClient);
  event.summary =
      fmt::format("{} sends mail with a bulk-mailing tool ({})", context.client.to_string(), kind);
  event.evidence = kind + ": " + name;
  events_.push_back(std::move(event));
}

void SpamDetector::on_session_end(const SmtpContext& context, const smtp::SessionSummary& summary,
                                  Timestamp end_time) {
  SessionState session;
  if (auto it = sessions_.find(context.connection_id); it != sessions_.end()) {
    session = std::move(it->second);
    sessions_.erase(it);
  }
  fan_out_counted_.erase(context.connection_id);

  // Habits of bulk-mail tools; strong ones alone fire, weak ones need company.
  std::vector<std::string> strong;
  std::vector<std::string> weak;
  if (summary.client_spoke_first) strong.push_back("talks_before_greeting");
  if (summary.pipelined_without_extension) strong.push_back("pipelining_without_extension");
  ClientState& client = clients_[context.client];
  if (!summary.helo.empty()) {
    for (auto& habit : helo_habits(summary.helo, context.client)) {
      (habit == "helo_ip_not_own" ? strong : weak).push_back(std::move(habit));
    }
    if (!client.last_helo.empty() && client.last_helo != summary.helo) {
      weak.push_back("helo_changed");
    }
    client.last_helo = std::string(truncate_utf8(summary.helo, 256));
  }
  if (!summary.quit_sent && session.refusals > 0 && !summary.starttls) {
    weak.push_back("no_quit_after_refusal");
  }
  // Submission to the host's own mail server is ordinary client behaviour.
  bool submission = context.server_port == 587 || context.server_port == 465;
  bool fires = !submission && (!strong.empty() || weak.size() >= 2);
  bool armed = client.habits_last_fired == INT64_MIN ||
               end_time - client.habits_last_fired > settings_.repeat_window;
  if (!fires || !armed) return;

  client.habits_last_fired = end_time;
  std::string habits;
  for (const auto& list : {strong, weak}) {
    for (const auto& habit : list) habits += (habits.empty() ? "" : ",") + habit;
  }
  Event event = make_event(context, end_time, rule_id::kBotLikeClient);
  event.summary =
      fmt::format("{} behaves like a bulk-mail bot: {}", context.client.to_string(), habits);
  event.evidence =
      fmt::format("habits={} helo=\"{}\"", habits, std::string(truncate_utf8(summary.helo, 200)));
  events_.push_back(std::move(event));

  if (!session.ordinary_software.empty()) {
    Event disguised = make_event(context, end_time, rule_id::kBulkMailClient);
    disguised.summary = fmt::format(
        "{} claims to be an ordinary mail program but behaves "
        "like a bot",
        context.client.to_string());
    disguised.evidence = "software: " + session.ordinary_software + "; habits=" + habits;
    events_.push_back(std::move(disguised));
  }
}

std::vector<Event> SpamDetector::take_events() {
  std::vector<Event> out;
  out.swap(events_);
  return out;
}

std::vector<SoftwareRecord> SpamDetector::take_software() {
  std::vector<SoftwareRecord> out;
  out.swap(software_);
  return out;
}

}  // namespace spamtap
