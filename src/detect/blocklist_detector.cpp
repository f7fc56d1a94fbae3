#include "detect/blocklist_detector.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/text.hpp"
#include "decode/packet.hpp"

namespace spamtap {

namespace {

// Labels come from list files: one line at most, but a line may be 4 KiB of anything.
constexpr size_t kMaxLabelBytes = 256;

std::string protocol_name(uint8_t protocol) {
  switch (protocol) {
    case ip_protocol::kTcp: return "tcp";
    case ip_protocol::kUdp: return "udp";
    case ip_protocol::kIcmp: return "icmp";
    case ip_protocol::kIcmpV6: return "icmp6";
  }
  return std::to_string(protocol);
}

// "192.0.2.1:25", "[2001:db8::1]:25".
std::string endpoint(const IpAddress& address, uint16_t port) {
  if (address.is_v6()) return fmt::format("[{}]:{}", address.to_string(), port);
  return fmt::format("{}:{}", address.to_string(), port);
}

}  // namespace

size_t BlocklistDetector::check(const Connection& connection, std::vector<Event>* events) {
  if (!set_) return 0;
  counters_.connections_checked++;

  // The common case is two misses: one table load each, nothing else.
  bool originator_listed = set_->contains_any(connection.key.originator);
  bool responder_listed = set_->contains_any(connection.key.responder);
  if (!originator_listed && !responder_listed) return 0;

  counters_.connections_listed++;
  size_t before = events->size();
  if (originator_listed) report_end(connection, true, events);
  if (responder_listed) report_end(connection, false, events);
  size_t added = events->size() - before;
  counters_.events += added;
  return added;
}

void BlocklistDetector::report_end(const Connection& connection, bool listed_is_originator,
                                   std::vector<Event>* events) {
  const ConnectionKey& key = connection.key;
  const IpAddress& listed = listed_is_originator ? key.originator : key.responder;
  bool listed_local =
      listed_is_originator ? connection.originator_local : connection.responder_local;
  bool other_local =
      listed_is_originator ? connection.responder_local : connection.originator_local;

  // The host the event is about: the end that talked to the listed address, unless the
  // listed address is our own and the other end is outside.
  bool host_is_listed_end = listed_local && !other_local;
  bool host_is_originator = host_is_listed_end ? listed_is_originator : !listed_is_originator;
  const IpAddress& host = host_is_originator ? key.originator : key.responder;
  const char* direction = host_is_originator ? "outbound" : "inbound";
  uint16_t peer_port = listed_is_originator ? key.originator_port : key.responder_port;
  std::string protocol = protocol_name(key.protocol);

  for (const intel::Match& match : set_->lookup(listed)) {
    const intel::BlocklistInfo& list = set_->lists()[match.list_index];
    std::string label = to_valid_utf8(truncate_utf8(match.entry_label, kMaxLabelBytes));
    std::string entry = match.entry.to_string();

    nlohmann::json evidence = {
        {"list", to_valid_utf8(list.name)},
        {"category", to_valid_utf8(list.category)},
        {"weight", list.weight},
        {"entry", entry},
        {"label", label},
        {"direction", direction},
        {"listed", host_is_listed_end ? "host" : "remote"},
        {"protocol", protocol},
    };

    Event event;
    event.time = connection.first_time;
    event.host = host;
    event.peer = listed;
    event.peer_port = peer_port;
    event.rule = rule_id::kPeerOnBlocklist;
    event.severity = Severity::kMedium;
    event.connection_id = connection.id;
    event.summary = fmt::format("{} {} connection {} -> {}; {} is on blocklist '{}' via {}{}",
                                direction, protocol, endpoint(key.originator, key.originator_port),
                                endpoint(key.responder, key.responder_port), listed.to_string(),
                                evidence["list"].get<std::string>(), entry,
                                label.empty() ? "" : " (" + label + ")");
    event.evidence = evidence.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    events->push_back(std::move(event));
  }
}

}  // namespace spamtap
