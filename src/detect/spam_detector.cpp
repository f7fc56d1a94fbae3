#include "detect/spam_detector.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include <fmt/format.h>

#include "detect/catalog.hpp"

namespace spamtap {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

bool is_relay_denial(std::string_view text) {
  if (!contains(text, "relay")) return false;
  constexpr std::array<std::string_view, 10> kDenials{
      "denied", "not permitted", "not allowed", "prohibited", "refused",
      "rejected", "unable to relay", "we do not relay", "no relay", "not authorized"};
  return std::any_of(kDenials.begin(), kDenials.end(),
                     [&](std::string_view word) { return contains(text, word); });
}

bool is_unknown_user(const smtp::Reply& reply, std::string_view text) {
  if (reply.enhanced_status == "5.1.1") return true;
  constexpr std::array<std::string_view, 13> kPhrases{
      "user unknown",     "unknown user",         "no such user",     "mailbox unavailable",
      "mailbox not found", "does not exist",      "invalid recipient", "unknown recipient",
      "no mailbox",       "recipient not found",  "user not found",   "no such recipient",
      "address unknown"};
  return std::any_of(kPhrases.begin(), kPhrases.end(),
                     [&](std::string_view phrase) { return contains(text, phrase); });
}

// Names of DNS blocklists as receivers quote them, and the label the evidence uses.
struct BlocklistName {
  std::string_view needle;
  std::string_view label;
};
constexpr std::array<BlocklistName, 17> kBlocklistNames{{
    {"spamhaus", "Spamhaus"},      {"spamcop", "SpamCop"},       {"barracuda", "Barracuda"},
    {"sorbs", "SORBS"},            {"abuseat", "CBL"},           {"cbl.", "CBL"},
    {"uceprotect", "UCEPROTECT"},  {"psbl", "PSBL"},             {"mailspike", "Mailspike"},
    {"spamrats", "SpamRATS"},      {"dronebl", "DroneBL"},       {"blocked using", "DNSBL"},
    {"dnsbl", "DNSBL"},            {"blocklist", "DNSBL"},       {"blacklist", "DNSBL"},
    {"block list", "DNSBL"},       {"listed at", "DNSBL"},
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
  return RefusalKind::kNone;
}

SpamDetector::SpamDetector(DetectionSettings settings) : settings_(settings) {}

void SpamDetector::on_greeting(const SmtpContext& context, const smtp::Reply& greeting) {
  if (greeting.code == 0) return;
  check_blocklist(context, greeting, "greeting");
}

void SpamDetector::on_exchange(const SmtpContext& context, const smtp::Exchange& exchange) {
  const smtp::Reply& reply = exchange.reply;
  if (reply.code == 0) return;
  check_blocklist(context, reply, exchange.verb);

  if (exchange.verb != "RCPT") return;
  std::string ignored;
  RefusalKind kind = classify_refusal(reply, &ignored);
  if (kind == RefusalKind::kRelayDenied) {
    Event event = make_event(context, reply.time, rule_id::kRelayingDenied);
    event.summary = fmt::format("{} refused to relay for {} (RCPT {})",
                                context.server.to_string(), context.client.to_string(),
                                exchange.argument);
    event.evidence = reply_line(reply);
    events_.push_back(std::move(event));
  }
  record_recipient(context, exchange, kind == RefusalKind::kUnknownUser);
}

void SpamDetector::check_blocklist(const SmtpContext& context, const smtp::Reply& reply,
                                   const std::string& verb) {
  std::string list;
  if (classify_refusal(reply, &list) != RefusalKind::kBlocklisted) return;
  if (!blocklist_reported_.insert(context.connection_id).second) return;

  Event event = make_event(context, reply.time, rule_id::kBlocklistedByReceiver);
  bool own_address = mentions_address(reply.text, context.client.to_string());
  event.summary = fmt::format("{} refused {} citing {} (reply to {}){}",
                              context.server.to_string(), context.client.to_string(), list,
                              verb, own_address ? "; the reply names the client's own address"
                                                : "");
  event.evidence = reply_line(reply);
  events_.push_back(std::move(event));
}

void SpamDetector::record_recipient(const SmtpContext& context,
                                    const smtp::Exchange& exchange, bool unknown_user) {
  ClientWindow& window = windows_[context.client];
  Timestamp now = exchange.reply.time;
  window.outcomes.push_back({now, unknown_user, context.connection_id});
  if (unknown_user) {
    window.unknown_in_window++;
    window.last_unknown_text = reply_line(exchange.reply);
  }
  while (!window.outcomes.empty() &&
         now - window.outcomes.front().time > settings_.unknown_recipients_window) {
    if (window.outcomes.front().unknown_user) window.unknown_in_window--;
    window.outcomes.pop_front();
  }

  int total = static_cast<int>(window.outcomes.size());
  bool enough = window.unknown_in_window >= settings_.unknown_recipients_min_count &&
                window.unknown_in_window >= settings_.unknown_recipients_min_share * total;
  bool armed = window.last_fired == INT64_MIN ||
               now - window.last_fired > settings_.unknown_recipients_window;
  if (!enough || !armed || !unknown_user) return;

  window.last_fired = now;
  Event event = make_event(context, now, rule_id::kUnknownRecipients);
  auto window_minutes = settings_.unknown_recipients_window / seconds(60);
  event.summary = fmt::format("{} of {} recipients refused as unknown within {} min",
                              window.unknown_in_window, total, window_minutes);
  event.evidence = window.last_unknown_text;
  events_.push_back(std::move(event));
}

void SpamDetector::on_session_end(const SmtpContext& context) {
  blocklist_reported_.erase(context.connection_id);
}

std::vector<Event> SpamDetector::take_events() {
  std::vector<Event> out;
  out.swap(events_);
  return out;
}

}  // namespace spamtap
