#include "synth/scenario.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <queue>
#include <set>
#include <stdexcept>

#include "core/address.hpp"
#include "synth/content.hpp"
#include "synth/conversation.hpp"
#include "synth/smtp_script.hpp"

namespace spamtap::synth {

const char *to_string(BotKind kind) {
  switch (kind) {
    case BotKind::kRelayProber:
      return "relay_prober";
    case BotKind::kDeadAddressMailer:
      return "dead_address_mailer";
    case BotKind::kBlocklisted:
      return "blocklisted";
    case BotKind::kFanOut:
      return "direct_to_mx_fan_out";
  }
  return "unknown";
}

const char *to_string(BotHabit habit) {
  switch (habit) {
    case BotHabit::kBareIpHelo:
      return "bare_ip_helo";
    case BotHabit::kPipeliningWithoutExtension:
      return "pipelining_without_extension";
    case BotHabit::kNoQuit:
      return "no_quit";
    case BotHabit::kBulkMailer:
      return "bulk_x_mailer";
  }
  return "unknown";
}

ScenarioOptions demo_scenario() {
  ScenarioOptions options;
  options.name = "demo";
  options.seed = 20250304;
  options.hosts = 6;
  options.duration = seconds(240);
  options.bots_per_kind = 0;
  options.demo_bot = true;
  options.web_per_desktop_hour = 15;
  options.mail_per_desktop_hour = 12;
  options.download_scale = 0.25;
  options.large_download_share = 0;
  options.max_object_bytes = 25'000;
  options.bounce_share = 0.5;
  options.bounce_limit = 1;
  return options;
}

ScenarioOptions office_scenario(uint64_t seed, int hosts, Timestamp duration, int bots_per_kind) {
  ScenarioOptions options;
  options.name = "office";
  options.seed = seed;
  options.hosts = hosts;
  options.duration = duration;
  options.bots_per_kind = bots_per_kind;
  return options;
}

std::string truth_path_for(const std::string &capture_path) { return capture_path + ".truth.json"; }

namespace {

constexpr Timestamp kMillisecond = 1'000'000;
constexpr Timestamp kMicrosecond = 1'000;

enum class Role {
  kDesktop,
  kMailServer,
  kWebServer,
  kDnsResolver,
  kOutsideMx,
  kOutsideWeb,
  kOutsideDns,
  kOutsideRelay,
  kOutsideClient,
};

const char *to_string(Role role) {
  switch (role) {
    case Role::kDesktop:
      return "desktop";
    case Role::kMailServer:
      return "mail_server";
    case Role::kWebServer:
      return "web_server";
    case Role::kDnsResolver:
      return "dns_resolver";
    case Role::kOutsideMx:
      return "outside_mail_server";
    case Role::kOutsideWeb:
      return "outside_web_server";
    case Role::kOutsideDns:
      return "outside_dns_server";
    case Role::kOutsideRelay:
      return "outside_third_party_mail_server";
    case Role::kOutsideClient:
      return "outside_web_client";
  }
  return "unknown";
}

enum class Activity {
  kWebTls,
  kWebHttp,
  kIntranet,
  kImap,
  kSubmission,
  kLookup,
  kInboundMail,
  kInboundWeb,
  kRelayProbe,
  kDeadAddresses,
  kBlocklisted,
  kFanOut,
};

struct Host {
  Role role = Role::kDesktop;
  std::string name;    // fully qualified host name
  std::string domain;  // mail domain it serves, or the site it hosts
  Station v4;
  Station v6;
  bool has_v6 = false;
  bool internal = false;
  bool seen = false;
  Timestamp delay = 0;  // one-way, to the capture point
  double bits_per_second = 100e6;
  uint16_t next_port = 40000;

  // Mail servers.
  std::string software;
  bool advertises_pipelining = true;
  bool uses_blocklist = false;
  bool relay_denied_postfix_style = true;

  // Desktops: the person at the desk, and for bots what they do.
  std::string user;
  std::string display_name;
  std::string mail_program;  // header line of the ordinary mail client
  std::vector<BotKind> kinds;
  std::vector<BotHabit> habits;
  std::string bulk_mailer;
  size_t fan_out_cursor = 0;
  std::vector<size_t> fan_out_targets;
  SmtpTally smtp;

  bool is_bot() const { return !kinds.empty(); }
  bool has(BotHabit habit) const {
    return std::find(habits.begin(), habits.end(), habit) != habits.end();
  }
};

struct Scheduled {
  Timestamp time;
  uint64_t order;
  size_t host;
  Activity activity;
  double mean_seconds;
};

struct LaterActivity {
  bool operator()(const Scheduled &a, const Scheduled &b) const {
    return a.time != b.time ? a.time > b.time : a.order > b.order;
  }
};

constexpr std::string_view kSyllables[] = {
    "al",  "ber", "cor", "dan", "el",   "fin", "gal", "har", "in",  "jor", "kel", "lor",
    "mar", "nor", "or",  "pel", "quin", "ras", "sol", "tor", "ul",  "ven", "wes", "yar",
    "zen", "bri", "cla", "dro", "fra",  "gre", "lum", "mon", "nex", "pra", "sta", "tri"};
constexpr std::string_view kTopLevel[] = {"com", "net", "org", "de", "fr", "nl", "io", "co.uk"};
constexpr std::string_view kFirstNames[] = {
    "anna",  "ben", "clara", "david", "emma", "felix", "grace", "hugo", "ines", "jonas",
    "karin", "leo", "maria", "nils",  "olga", "paul",  "rosa",  "sam",  "tina", "victor"};
constexpr std::string_view kLastNames[] = {
    "adams",  "brandt", "costa",  "dietz",  "evans", "fischer", "garcia", "hansen", "ito",
    "jensen", "klein",  "larsen", "moreau", "novak", "olsen",   "petit",  "rossi",  "schmidt"};
constexpr std::string_view kServerSoftware[] = {
    "ESMTP Postfix", "ESMTP Exim 4.96 ready", "ESMTP Sendmail 8.17.1; ready",
    "Microsoft ESMTP MAIL Service ready", "ESMTP ready"};
constexpr std::string_view kBulkMailers[] = {"Atomic Mail Sender 9.52", "SendBlaster 4.1.9",
                                             "Advanced Mass Sender 4.3"};
constexpr std::string_view kSpamSubjects[] = {
    "Your invoice is ready",         "Limited offer: 80% off today only",
    "Re: payment confirmation",      "Account verification required",
    "You have (1) pending delivery", "Congratulations, winner"};
constexpr std::string_view kUserAgents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
    "Gecko) "
    "Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 "
    "Firefox/123.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) "
    "Version/17.3 Safari/605.1.15"};
constexpr std::string_view kPaths[] = {"/",
                                       "/index.html",
                                       "/news",
                                       "/about",
                                       "/products",
                                       "/search?q=report",
                                       "/contact",
                                       "/blog/latest",
                                       "/assets/site.css",
                                       "/api/v1/status"};

std::string json_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
          out += buffer;
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

class Generator {
 public:
  Generator(const ScenarioOptions &options, PcapWriter &pcap)
      : options_(options),
        random_(options.seed),
        library_(options.seed),
        pcap_(pcap),
        traffic_(pcap) {}

  void build_world();
  void run();
  std::string truth_json(const ScenarioSummary &summary, const std::string &capture) const;
  const SmtpTally &smtp() const { return smtp_; }
  int bot_count() const;
  void fill_traffic_totals(ScenarioSummary *summary) const {
    summary->tcp_connections = traffic_.tcp_connections();
    summary->udp_exchanges = traffic_.udp_exchanges();
    summary->first_packet = traffic_.first_time();
    summary->last_packet = traffic_.last_time();
  }

 private:
  // World building.
  std::string invented_domain();
  std::string person(std::string *display_name);
  IpAddress outside_v4();
  IpAddress outside_v6();
  size_t add_internal(Role role, std::string name, uint32_t v4, bool with_v6);
  size_t add_outside(Role role, std::string name, std::string domain);
  void make_bot(Host &host, std::vector<BotKind> kinds, bool all_habits);

  // Traffic.
  void schedule(size_t host, Activity activity, double mean_seconds, Timestamp first);
  void fire(const Scheduled &item);
  std::unique_ptr<Conversation> conversation(size_t client, size_t server, uint16_t port, bool v6);
  PathTiming path(size_t client, size_t server) const;
  uint16_t ephemeral_port(Host &host);
  Timestamp resolve(size_t client, const std::string &name, DnsType type, size_t target,
                    Timestamp time);
  void add(std::unique_ptr<Conversation> conversation) { traffic_.add(std::move(conversation)); }

  void web_tls(size_t desktop, Timestamp time);
  void web_http(size_t client, size_t server, Timestamp time);
  void imap(size_t desktop, Timestamp time);
  void submission(size_t desktop, Timestamp time);
  void outbound_delivery(size_t mx, const std::vector<std::string> &recipients,
                         const std::string &message, Timestamp time);
  void inbound_mail(Timestamp time);
  void lookup(size_t desktop, Timestamp time);
  void relay_probe(size_t bot, Timestamp time);
  void dead_addresses(size_t bot, Timestamp time);
  void blocklisted(size_t bot, Timestamp time);
  void fan_out(size_t bot, Timestamp time);
  void bot_session(size_t bot, size_t server, SmtpPlan plan, Timestamp time);

  std::string message(Timestamp time, const std::string &from_display, const std::string &from,
                      const std::string &to, const std::string &subject,
                      const std::string &mailer_line, const std::string &body_text);
  std::string spam_message(const Host &bot, const std::string &to, Timestamp time);
  std::string helo_for(const Host &host) const;
  std::string blocklist_reply(const Host &bot) const;

  const ScenarioOptions &options_;
  Random random_;
  ContentLibrary library_;
  PcapWriter &pcap_;
  TrafficWriter traffic_;
  std::priority_queue<Scheduled, std::vector<Scheduled>, LaterActivity> activities_;
  uint64_t activity_order_ = 0;

  std::string org_domain_;
  std::vector<Host> hosts_;
  std::set<IpAddress> used_addresses_;
  size_t mail_server_ = 0;
  size_t web_server_ = 0;
  size_t resolver_ = 0;
  std::vector<size_t> desktops_;
  std::vector<size_t> upstream_dns_;
  std::vector<size_t> outside_mx_;
  std::vector<size_t> blocklisting_mx_;
  std::vector<size_t> relays_;
  std::vector<size_t> sites_;
  std::vector<size_t> outside_clients_;
  SmtpTally smtp_;
  int bounces_ = 0;
};

std::string Generator::invented_domain() {
  std::string name;
  const int parts = static_cast<int>(random_.between(2, 3));
  for (int i = 0; i < parts; ++i) name += random_.pick(kSyllables);
  if (random_.chance(0.2)) name += random_.chance(0.5) ? "-mail" : "-group";
  return name + "." + std::string(random_.pick(kTopLevel));
}

std::string Generator::person(std::string *display_name) {
  const std::string first(random_.pick(kFirstNames));
  const std::string last(random_.pick(kLastNames));
  if (display_name != nullptr) {
    *display_name = first + " " + last;
    (*display_name)[0] = static_cast<char>((*display_name)[0] - 'a' + 'A');
    (*display_name)[first.size() + 1] =
        static_cast<char>((*display_name)[first.size() + 1] - 'a' + 'A');
  }
  return first + "." + last;
}

IpAddress Generator::outside_v4() {
  static constexpr uint32_t kDocumentation[] = {0xc0000200, 0xc6336400, 0xcb007100};
  while (true) {
    uint32_t value = 0;
    if (random_.chance(0.3)) {
      value = kDocumentation[random_.below(3)] | static_cast<uint32_t>(random_.between(1, 254));
    } else {
      value = static_cast<uint32_t>(random_.next());
      const uint32_t first = value >> 24;
      const uint32_t second = (value >> 16) & 0xff;
      // Skip every private, shared, loopback, link-local, multicast and
      // reserved range.
      if (first == 0 || first == 10 || first == 127 || first >= 224) continue;
      if (first == 100 && (second & 0xc0) == 64) continue;
      if (first == 169 && second == 254) continue;
      if (first == 172 && (second & 0xf0) == 16) continue;
      if (first == 192 && (second == 168 || second == 0)) continue;
      if (first == 198 && (second == 18 || second == 19 || second == 51)) continue;
      if (first == 203 && second == 0) continue;
      if ((value & 0xff) == 0 || (value & 0xff) == 255) continue;
    }
    const IpAddress address = IpAddress::v4(value);
    if (used_addresses_.insert(address).second) return address;
  }
}

IpAddress Generator::outside_v6() {
  while (true) {
    uint8_t bytes[16] = {0x20, 0x01, 0x0d, 0xb8};
    const uint64_t high = random_.next();
    for (int i = 0; i < 4; ++i) bytes[4 + i] = static_cast<uint8_t>(high >> (8 * i));
    bytes[15] = static_cast<uint8_t>(random_.between(1, 255));
    bytes[14] = static_cast<uint8_t>(random_.below(16));
    const IpAddress address = IpAddress::v6_bytes(bytes);
    if (used_addresses_.insert(address).second) return address;
  }
}

size_t Generator::add_internal(Role role, std::string name, uint32_t v4, bool with_v6) {
  Host host;
  host.role = role;
  host.name = std::move(name);
  host.internal = true;
  host.seen = true;
  host.v4.address = IpAddress::v4(v4);
  host.v4.mac = {0x02,
                 0x00,
                 static_cast<uint8_t>(v4 >> 24),
                 static_cast<uint8_t>(v4 >> 16),
                 static_cast<uint8_t>(v4 >> 8),
                 static_cast<uint8_t>(v4)};
  const bool windows = role == Role::kDesktop && random_.chance(0.7);
  host.v4.hop_limit = windows ? 128 : 64;
  if (with_v6) {
    uint8_t bytes[16] = {0xfd, 0x7a, 0x1c, 0x20,
                         0x00, 0x05, 0x00, static_cast<uint8_t>(role == Role::kDesktop ? 1 : 0)};
    bytes[14] = static_cast<uint8_t>(v4 >> 8);
    bytes[15] = static_cast<uint8_t>(v4);
    host.v6 = host.v4;
    host.v6.address = IpAddress::v6_bytes(bytes);
    host.has_v6 = true;
  }
  host.delay = random_.between(50, 400) * kMicrosecond;
  host.bits_per_second = role == Role::kDesktop ? 200e6 : 800e6;
  host.next_port = static_cast<uint16_t>(random_.between(32768, 60000));
  used_addresses_.insert(host.v4.address);
  hosts_.push_back(std::move(host));
  return hosts_.size() - 1;
}

size_t Generator::add_outside(Role role, std::string name, std::string domain) {
  Host host;
  host.role = role;
  host.name = std::move(name);
  host.domain = std::move(domain);
  host.v4.address = outside_v4();
  host.v4.mac = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};  // every outside host is behind the gateway
  static constexpr uint8_t kInitialTtls[] = {64, 64, 128, 255};
  host.v4.hop_limit = static_cast<uint8_t>(kInitialTtls[random_.below(4)] - random_.between(8, 24));
  if (role != Role::kOutsideClient && random_.chance(0.35)) {
    host.v6 = host.v4;
    host.v6.address = outside_v6();
    host.has_v6 = true;
  }
  host.delay = random_.between(4, 110) * kMillisecond;
  host.bits_per_second = static_cast<double>(random_.between(10, 200)) * 1e6;
  host.next_port = static_cast<uint16_t>(random_.between(32768, 60000));
  host.software = std::string(random_.pick(kServerSoftware));
  host.advertises_pipelining = random_.chance(0.6);
  host.relay_denied_postfix_style = random_.chance(0.6);
  hosts_.push_back(std::move(host));
  return hosts_.size() - 1;
}

void Generator::make_bot(Host &host, std::vector<BotKind> kinds, bool all_habits) {
  host.kinds = std::move(kinds);
  const BotHabit every[] = {BotHabit::kBareIpHelo, BotHabit::kPipeliningWithoutExtension,
                            BotHabit::kNoQuit, BotHabit::kBulkMailer};
  for (BotHabit habit : every) {
    if (all_habits || random_.chance(0.6)) host.habits.push_back(habit);
  }
  if (host.habits.size() < 2) host.habits = {BotHabit::kBareIpHelo, BotHabit::kNoQuit};
  host.bulk_mailer = std::string(random_.pick(kBulkMailers));
}

int Generator::bot_count() const {
  return static_cast<int>(
      std::count_if(hosts_.begin(), hosts_.end(), [](const Host &host) { return host.is_bot(); }));
}

void Generator::build_world() {
  static constexpr std::string_view kOrganisations[] = {"alderbank", "brightwater", "carrowmore",
                                                        "dunmere",   "elmstead",    "fairhollow"};
  static constexpr std::string_view kKinds[] = {"-college", "-labs", "-group", "-partners"};
  org_domain_ = std::string(random_.pick(kOrganisations)) + std::string(random_.pick(kKinds)) +
                "." + std::string(random_.pick(kTopLevel));

  const uint32_t base = 0x0a140000;  // 10.20.0.0
  mail_server_ = add_internal(Role::kMailServer, "mail." + org_domain_, base | 25, true);
  hosts_[mail_server_].domain = org_domain_;
  hosts_[mail_server_].software = "ESMTP Postfix";
  web_server_ = add_internal(Role::kWebServer, "www." + org_domain_, base | 80, true);
  resolver_ = add_internal(Role::kDnsResolver, "ns1." + org_domain_, base | 53, false);
  for (int i = 0; i < options_.hosts; ++i) {
    const uint32_t address =
        base | (static_cast<uint32_t>(1 + i / 240) << 8) | static_cast<uint32_t>(10 + i % 240);
    char name[64];
    std::snprintf(name, sizeof name, "ws-%03d.corp.", i + 1);
    const size_t index = add_internal(Role::kDesktop, name + org_domain_, address,
                                      random_.chance(options_.ipv6_share));
    Host &desktop = hosts_[index];
    desktop.user = person(&desktop.display_name);
    desktop.mail_program = random_.chance(0.6)
                               ? "X-Mailer: Microsoft Outlook 16.0"
                               : "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) "
                                 "Gecko/20100101 Thunderbird/115.8.0";
    desktops_.push_back(index);
  }

  for (int i = 0; i < 2; ++i) {
    upstream_dns_.push_back(add_outside(
        Role::kOutsideDns, "resolver" + std::to_string(i + 1) + "." + invented_domain(), ""));
  }
  const int mx_count = 10 + options_.hosts / 4;
  for (int i = 0; i < mx_count; ++i) {
    const std::string domain = invented_domain();
    outside_mx_.push_back(add_outside(Role::kOutsideMx, "mx1." + domain, domain));
  }
  for (int i = 0; i < 3; ++i) {
    const std::string domain = invented_domain();
    const size_t index = add_outside(Role::kOutsideMx, "mail." + domain, domain);
    hosts_[index].uses_blocklist = true;
    blocklisting_mx_.push_back(index);
  }
  for (int i = 0; i < 12; ++i) {
    const std::string domain = invented_domain();
    relays_.push_back(add_outside(Role::kOutsideRelay, "smtp." + domain, domain));
  }
  for (int i = 0; i < 30 + options_.hosts; ++i) {
    const std::string domain = invented_domain();
    sites_.push_back(add_outside(Role::kOutsideWeb, "www." + domain, domain));
  }
  for (int i = 0; i < 20; ++i) {
    outside_clients_.push_back(add_outside(Role::kOutsideClient, "", ""));
  }

  // Bots: each a desktop, chosen from the end of the list so the first desktops
  // stay clean.
  std::vector<size_t> candidates(desktops_.rbegin(), desktops_.rend());
  size_t next_candidate = 0;
  auto next_bot = [&]() -> Host * {
    if (next_candidate >= candidates.size() / 2 + (candidates.size() == 1 ? 1 : 0)) return nullptr;
    return &hosts_[candidates[next_candidate++]];
  };
  if (options_.demo_bot) {
    if (Host *bot = next_bot()) {
      make_bot(*bot, {BotKind::kRelayProber, BotKind::kDeadAddressMailer, BotKind::kBlocklisted},
               true);
    }
  } else {
    const BotKind kinds[] = {BotKind::kRelayProber, BotKind::kDeadAddressMailer,
                             BotKind::kBlocklisted, BotKind::kFanOut};
    for (BotKind kind : kinds) {
      for (int i = 0; i < options_.bots_per_kind; ++i) {
        if (Host *bot = next_bot()) make_bot(*bot, {kind}, false);
      }
    }
  }
  // Fan-out bots find their own targets: the MX hosts of a long address list.
  for (size_t desktop : desktops_) {
    const auto &kinds = hosts_[desktop].kinds;
    if (std::find(kinds.begin(), kinds.end(), BotKind::kFanOut) == kinds.end()) continue;
    std::vector<size_t> targets;
    for (int i = 0; i < 150; ++i) {
      const std::string domain = invented_domain();
      targets.push_back(add_outside(Role::kOutsideMx, "mx." + domain, domain));
    }
    hosts_[desktop].fan_out_targets = std::move(targets);
  }
}

void Generator::schedule(size_t host, Activity activity, double mean_seconds, Timestamp first) {
  activities_.push({first, activity_order_++, host, activity, mean_seconds});
}

uint16_t Generator::ephemeral_port(Host &host) {
  const uint16_t port = host.next_port;
  host.next_port = port >= 60999 ? 32768 : static_cast<uint16_t>(port + 1);
  return port;
}

PathTiming Generator::path(size_t client, size_t server) const {
  PathTiming timing;
  timing.originator_delay = hosts_[client].delay;
  timing.responder_delay = hosts_[server].delay;
  timing.bits_per_second = std::min(hosts_[client].bits_per_second, hosts_[server].bits_per_second);
  return timing;
}

std::unique_ptr<Conversation> Generator::conversation(size_t client, size_t server, uint16_t port,
                                                      bool v6) {
  auto result = std::make_unique<Conversation>();
  Host &originator = hosts_[client];
  Host &responder = hosts_[server];
  originator.seen = responder.seen = true;
  result->originator = v6 ? originator.v6 : originator.v4;
  result->responder = v6 ? responder.v6 : responder.v4;
  result->originator_port = ephemeral_port(originator);
  result->responder_port = port;
  result->shared_base = library_.base();
  result->window[0] = static_cast<uint16_t>(random_.between(29200, 65535));
  result->window[1] = static_cast<uint16_t>(random_.between(29200, 65535));
  return result;
}

Timestamp Generator::resolve(size_t client, const std::string &name, DnsType type, size_t target,
                             Timestamp time) {
  const Host &answer_host = hosts_[target];
  std::vector<DnsAnswer> answers(1);
  if (type == DnsType::kMx) {
    answers[0].preference = 10;
    answers[0].exchange = answer_host.name;
  } else if (type == DnsType::kAaaa) {
    const auto &bytes = answer_host.v6.address.bytes();
    answers[0].address_bytes.assign(reinterpret_cast<const char *>(bytes.data()), 16);
  } else {
    const auto &bytes = answer_host.v4.address.bytes();
    answers[0].address_bytes.assign(reinterpret_cast<const char *>(bytes.data()) + 12, 4);
  }

  const uint16_t id = static_cast<uint16_t>(random_.next());
  const std::string query = dns_query(id, name, type);
  const std::string response = dns_response(query, type, answers, 300);
  auto exchange = conversation(client, resolver_, 53, false);
  add_datagram(*exchange, Side::kOriginator, time, query);

  // Cache misses go upstream; the answer to the client waits for that round
  // trip.
  Timestamp answer_time =
      time + 2 * hosts_[resolver_].delay + random_.between(50, 400) * kMicrosecond;
  if (random_.chance(0.45)) {
    const size_t upstream = random_.pick(upstream_dns_);
    const Timestamp forward_time = answer_time;
    auto forward = conversation(resolver_, upstream, 53, false);
    const std::string forwarded = dns_query(static_cast<uint16_t>(random_.next()), name, type);
    add_datagram(*forward, Side::kOriginator, forward_time, forwarded);
    const Timestamp upstream_answer =
        forward_time + 2 * hosts_[upstream].delay + random_.between(1, 30) * kMillisecond;
    add_datagram(*forward, Side::kResponder, upstream_answer,
                 dns_response(forwarded, type, answers, 3600));
    add(std::move(forward));
    answer_time = upstream_answer + random_.between(50, 300) * kMicrosecond;
  }
  add_datagram(*exchange, Side::kResponder, answer_time, response);
  add(std::move(exchange));
  return answer_time + 2 * hosts_[client].delay + random_.between(50, 500) * kMicrosecond;
}

void Generator::web_tls(size_t desktop, Timestamp time) {
  const size_t site = random_.pick(sites_);
  const bool v6 = hosts_[desktop].has_v6 && hosts_[site].has_v6 && random_.chance(0.7);
  if (random_.chance(0.5)) {
    time = resolve(desktop, hosts_[site].name, v6 ? DnsType::kAaaa : DnsType::kA, site, time);
  }
  auto connection = conversation(desktop, site, 443, v6);
  Random local = random_.fork();
  TcpConversationBuilder builder(*connection, time, path(desktop, site), local);
  builder.handshake();
  const std::string hello = tls_client_hello(local, hosts_[site].name);
  builder.send_text(Side::kOriginator, hello, local.between(100, 800) * kMicrosecond);
  builder.send_text(Side::kResponder, tls_server_handshake(local, hello),
                    local.between(1, 15) * kMillisecond);
  builder.add_text(tls_client_finished(local));
  add_tls_application_data(builder, library_, local, local.between(300, 900));
  builder.send(Side::kOriginator, local.between(1, 5) * kMillisecond);

  const int rounds = static_cast<int>(local.between(1, 6));
  for (int round = 0; round < rounds; ++round) {
    if (round > 0) {
      add_tls_application_data(builder, library_, local, local.between(200, 1200));
      builder.send(Side::kOriginator, local.between(20, 3000) * kMillisecond);
    }
    double size = local.log_normal(30'000, 1.4) * options_.download_scale;
    if (local.chance(options_.large_download_share)) {
      size = local.log_normal(8e6, 0.8) * options_.download_scale;
    }
    size = std::clamp(size, 60.0, static_cast<double>(options_.max_object_bytes));
    add_tls_application_data(builder, library_, local, static_cast<size_t>(size));
    builder.send(Side::kResponder, local.between(2, 80) * kMillisecond);
  }
  builder.close(local.chance(0.8) ? Side::kOriginator : Side::kResponder,
                local.between(100, 5000) * kMillisecond);
  builder.finish();
  add(std::move(connection));
}

void Generator::web_http(size_t client, size_t server, Timestamp time) {
  const Host &site = hosts_[server];
  const std::string &host_name = site.name;
  if (hosts_[client].role == Role::kDesktop && !site.internal && random_.chance(0.5)) {
    time = resolve(client, site.name, DnsType::kA, server, time);
  }
  auto connection = conversation(client, server, 80, false);
  Random local = random_.fork();
  TcpConversationBuilder builder(*connection, time, path(client, server), local);
  builder.handshake();
  const std::string agent(local.pick(kUserAgents));
  const int requests = static_cast<int>(local.between(1, 4));
  for (int i = 0; i < requests; ++i) {
    const std::string target(local.pick(kPaths));
    builder.send_text(Side::kOriginator,
                      "GET " + target + " HTTP/1.1\r\nHost: " + host_name +
                          "\r\nUser-Agent: " + agent +
                          "\r\nAccept: text/html,application/xhtml+xml,*/*;q=0.8\r\n"
                          "Accept-Language: en-US,en;q=0.7\r\nConnection: keep-alive\r\n\r\n",
                      (i == 0 ? local.between(1, 3) : local.between(50, 4000)) * kMillisecond);
    const bool missing = local.chance(0.05);
    const bool unchanged = !missing && local.chance(0.1);
    size_t body = 0;
    std::string status = "200 OK";
    if (missing) {
      status = "404 Not Found";
      body = static_cast<size_t>(local.between(150, 600));
    } else if (unchanged) {
      status = "304 Not Modified";
    } else {
      body = static_cast<size_t>(std::clamp(local.log_normal(9000, 1.2) * options_.download_scale,
                                            200.0, static_cast<double>(options_.max_object_bytes)));
    }
    std::string head = "HTTP/1.1 " + status +
                       "\r\nDate: " + http_date(builder.ready(Side::kResponder)) +
                       "\r\nServer: nginx/1.24.0\r\n";
    if (!unchanged) {
      head += "Content-Type: text/html; charset=utf-8\r\nContent-Length: " + std::to_string(body) +
              "\r\n";
    }
    head += "Connection: keep-alive\r\n\r\n";
    builder.add_text(head);
    add_text_body(builder, library_, local, body);
    builder.send(Side::kResponder, local.between(1, 40) * kMillisecond);
  }
  builder.close(Side::kOriginator, local.between(100, 8000) * kMillisecond);
  builder.finish();
  add(std::move(connection));
}

void Generator::imap(size_t desktop, Timestamp time) {
  auto connection = conversation(desktop, mail_server_, 993, false);
  Random local = random_.fork();
  TcpConversationBuilder builder(*connection, time, path(desktop, mail_server_), local);
  builder.handshake();
  const std::string hello = tls_client_hello(local, hosts_[mail_server_].name);
  builder.send_text(Side::kOriginator, hello, local.between(100, 600) * kMicrosecond);
  builder.send_text(Side::kResponder, tls_server_handshake(local, hello),
                    local.between(1, 5) * kMillisecond);
  builder.send_text(Side::kOriginator, tls_client_finished(local), kMillisecond);
  // Greeting, then login, select, a few fetches and logout, all encrypted.
  add_tls_application_data(builder, library_, local, local.between(90, 160));
  builder.send(Side::kResponder, local.between(1, 3) * kMillisecond);
  const int rounds = static_cast<int>(local.between(3, 7));
  for (int i = 0; i < rounds; ++i) {
    add_tls_application_data(builder, library_, local, local.between(60, 220));
    builder.send(Side::kOriginator, local.between(1, 400) * kMillisecond);
    const double size = local.chance(0.25)
                            ? std::clamp(local.log_normal(40'000, 1.0) * options_.download_scale,
                                         400.0, static_cast<double>(options_.max_object_bytes))
                            : static_cast<double>(local.between(80, 900));
    add_tls_application_data(builder, library_, local, static_cast<size_t>(size));
    builder.send(Side::kResponder, local.between(1, 20) * kMillisecond);
  }
  builder.close(Side::kOriginator, local.between(10, 500) * kMillisecond);
  builder.finish();
  add(std::move(connection));
}

std::string Generator::message(Timestamp time, const std::string &from_display,
                               const std::string &from, const std::string &to,
                               const std::string &subject, const std::string &mailer_line,
                               const std::string &body_text) {
  std::string text = "Date: " + mail_date(time) + "\r\nFrom: ";
  text += from_display.empty() ? from : "\"" + from_display + "\" <" + from + ">";
  text += "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nMessage-ID: <" +
          random_token(random_, 16) + "@" + from.substr(from.find('@') + 1) +
          ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n";
  if (!mailer_line.empty()) text += mailer_line + "\r\n";
  text += "\r\n";
  // Wrap the body at about 72 columns.
  size_t column = 0;
  for (size_t i = 0; i < body_text.size(); ++i) {
    if (body_text[i] == ' ' && column > 68) {
      text += "\r\n";
      column = 0;
      continue;
    }
    text.push_back(body_text[i]);
    ++column;
  }
  text += "\r\n";
  return text;
}

void Generator::submission(size_t desktop, Timestamp time) {
  Host &sender = hosts_[desktop];
  const std::string from = sender.user + "@" + org_domain_;

  // Recipients: colleagues (delivered locally) and people at outside domains.
  std::vector<std::pair<size_t, std::string>> outside;  // (mx, address)
  std::vector<SmtpRecipient> recipients;
  const int count = static_cast<int>(random_.between(1, 3));
  for (int i = 0; i < count; ++i) {
    if (random_.chance(0.35)) {
      recipients.push_back({person(nullptr) + "@" + org_domain_, "250 2.1.5 Ok"});
    } else {
      const size_t mx = random_.pick(outside_mx_);
      const std::string address = person(nullptr) + "@" + hosts_[mx].domain;
      recipients.push_back({address, "250 2.1.5 Ok"});
      outside.push_back({mx, address});
    }
  }

  SmtpPlan plan;
  plan.server_name = hosts_[mail_server_].name;
  plan.submission = true;
  plan.helo_name = sender.name;
  plan.auth_plain =
      base64(std::string("\0", 1) + sender.user + std::string("\0", 1) + random_token(random_, 12));
  plan.mail_from = from;
  plan.recipients = recipients;
  std::string to_header;
  for (const SmtpRecipient &recipient : recipients) {
    to_header += (to_header.empty() ? "<" : ", <") + recipient.address + ">";
  }
  const std::string subject = library_.sentences(random_, 1);
  plan.message =
      message(time, sender.display_name, from, to_header,
              subject.substr(0, std::min<size_t>(subject.size(), 48)), sender.mail_program,
              library_.sentences(random_, static_cast<int>(random_.between(2, 12))));
  plan.queue_id = random_token(random_, 10, true);

  auto connection = conversation(desktop, mail_server_, 587, false);
  Random local = random_.fork();
  TcpConversationBuilder builder(*connection, time, path(desktop, mail_server_), local);
  run_smtp_session(builder, local, plan, {&smtp_, &sender.smtp});
  builder.finish();
  const Timestamp done = builder.ready(Side::kResponder);
  add(std::move(connection));

  // The mail server relays outside mail per destination domain a moment later.
  std::sort(outside.begin(), outside.end());
  for (size_t i = 0; i < outside.size();) {
    std::vector<std::string> group;
    size_t j = i;
    for (; j < outside.size() && outside[j].first == outside[i].first; ++j) {
      group.push_back(outside[j].second);
    }
    const std::string received = "Received: from " + sender.name + " (" + sender.name + " [" +
                                 sender.v4.address.to_string() + "])\r\n\tby " +
                                 hosts_[mail_server_].name + " (Postfix) with ESMTPSA id " +
                                 plan.queue_id + "\r\n\t; " + mail_date(done) + "\r\n";
    outbound_delivery(outside[i].first, group, received + plan.message,
                      done + random_.between(200, 4000) * kMillisecond);
    i = j;
  }
}

void Generator::outbound_delivery(size_t mx, const std::vector<std::string> &recipients,
                                  const std::string &text, Timestamp time) {
  time = resolve(mail_server_, hosts_[mx].domain, DnsType::kMx, mx, time);
  Host &server = hosts_[mail_server_];
  SmtpPlan plan;
  plan.server_name = hosts_[mx].name;
  plan.server_software = hosts_[mx].software;
  plan.advertise_pipelining = hosts_[mx].advertises_pipelining;
  plan.helo_name = server.name;
  plan.pipeline = hosts_[mx].advertises_pipelining;
  plan.queue_id = random_token(random_, 12, true);
  plan.message = text;
  for (const std::string &address : recipients) {
    plan.recipients.push_back({address, "250 2.1.5 Ok"});
  }
  // Now and then a colleague mistypes an address: one bounce, nothing more.
  const bool bounce_allowed = options_.bounce_limit < 0 || bounces_ < options_.bounce_limit;
  if (bounce_allowed && random_.chance(options_.bounce_share)) {
    // A mistyped extra address; the real recipients still get the mail.
    SmtpRecipient victim;
    victim.address = person(nullptr) + "x@" + hosts_[mx].domain;
    victim.reply = "550 5.1.1 <" + victim.address +
                   ">: Recipient address rejected: User unknown in local recipient table";
    plan.recipients.insert(
        plan.recipients.begin() + static_cast<long>(random_.below(plan.recipients.size() + 1)),
        victim);
    ++bounces_;
  }
  const size_t at = text.find("\r\nFrom: ");
  plan.mail_from = "postmaster@" + org_domain_;
  if (at != std::string::npos) {
    const size_t open = text.find('<', at);
    const size_t close = text.find('>', open);
    if (open != std::string::npos && close != std::string::npos) {
      plan.mail_from = text.substr(open + 1, close - open - 1);
    }
  }

  auto connection = conversation(mail_server_, mx, 25, false);
  Random local = random_.fork();
  TcpConversationBuilder builder(*connection, time, path(mail_server_, mx), local);
  run_smtp_session(builder, local, plan, {&smtp_, &server.smtp});
  builder.finish();
  add(std::move(connection));
}

void Generator::inbound_mail(Timestamp time) {
  const size_t mx = random_.pick(outside_mx_);
  Host &sender = hosts_[mx];
  SmtpPlan plan;
  plan.server_name = hosts_[mail_server_].name;
  plan.helo_name = sender.name;
  plan.pipeline = random_.chance(0.5);
  std::string display;
  const std::string from = person(&display) + "@" + sender.domain;
  plan.mail_from = from;
  const std::string to = hosts_[random_.pick(desktops_)].user + "@" + org_domain_;
  plan.recipients.push_back({to, "250 2.1.5 Ok"});
  plan.queue_id = random_token(random_, 10, true);
  plan.message = message(time, display, from, "<" + to + ">",
                         "Re: " + library_.sentences(random_, 1).substr(0, 40), "",
                         library_.sentences(random_, static_cast<int>(random_.between(2, 15))));

  auto connection = conversation(mx, mail_server_, 25, false);
  Random local = random_.fork();
  TcpConversationBuilder builder(*connection, time, path(mx, mail_server_), local);
  run_smtp_session(builder, local, plan, {&smtp_, &sender.smtp});
  builder.finish();
  add(std::move(connection));
}

void Generator::lookup(size_t desktop, Timestamp time) {
  const size_t site = random_.pick(sites_);
  resolve(desktop, hosts_[site].name, DnsType::kA, site, time);
}

std::string Generator::helo_for(const Host &host) const {
  if (host.has(BotHabit::kBareIpHelo)) return host.v4.address.to_string();
  return host.name;
}

std::string Generator::blocklist_reply(const Host &bot) const {
  const std::string address = bot.v4.address.to_string();
  return "554 5.7.1 Service unavailable; Client host [" + address +
         "] blocked using zen.spamhaus.org; "
         "https://www.spamhaus.org/query/ip/" +
         address;
}

std::string Generator::spam_message(const Host &bot, const std::string &to, Timestamp time) {
  const std::string from = random_token(random_, 8) + "@" + invented_domain();
  const std::string mailer = bot.has(BotHabit::kBulkMailer) ? "X-Mailer: " + bot.bulk_mailer : "";
  std::string body = library_.sentences(random_, 2) + " Visit http://promo-" +
                     random_token(random_, 6) + "." + invented_domain() +
                     "/offer?id=" + random_token(random_, 10) + " " +
                     library_.sentences(random_, 3);
  return message(time, "", from, to, std::string(random_.pick(kSpamSubjects)), mailer, body);
}

void Generator::bot_session(size_t bot, size_t server, SmtpPlan plan, Timestamp time) {
  Host &client = hosts_[bot];
  plan.server_name = hosts_[server].name;
  plan.server_software = hosts_[server].software;
  plan.advertise_pipelining = hosts_[server].advertises_pipelining;
  plan.helo_name = helo_for(client);
  plan.use_ehlo = !client.has(BotHabit::kBareIpHelo) || random_.chance(0.5);
  plan.pipeline = client.has(BotHabit::kPipeliningWithoutExtension);
  plan.quit = !client.has(BotHabit::kNoQuit);
  plan.queue_id = random_token(random_, 10, true);

  auto connection = conversation(bot, server, 25, false);
  Random local = random_.fork();
  PathTiming timing = path(bot, server);
  TcpConversationBuilder builder(*connection, time, timing, local);
  run_smtp_session(builder, local, plan, {&smtp_, &client.smtp});
  builder.finish();
  add(std::move(connection));
}

void Generator::relay_probe(size_t bot, Timestamp time) {
  const size_t relay = random_.pick(relays_);
  SmtpPlan plan;
  plan.mail_from = random_token(random_, 7) + "@" + invented_domain();
  const int count = static_cast<int>(random_.between(1, 3));
  for (int i = 0; i < count; ++i) {
    const std::string target = person(nullptr) + "@" + invented_domain();
    const std::string reply = hosts_[relay].relay_denied_postfix_style
                                  ? "554 5.7.1 <" + target + ">: Relay access denied"
                                  : "550 5.7.1 Relaying denied";
    plan.recipients.push_back({target, reply});
  }
  plan.message = spam_message(hosts_[bot], "<" + plan.recipients[0].address + ">", time);
  bot_session(bot, relay, std::move(plan), time);
}

void Generator::dead_addresses(size_t bot, Timestamp time) {
  const size_t mx = random_.pick(outside_mx_);
  SmtpPlan plan;
  plan.mail_from = random_token(random_, 8) + "@" + invented_domain();
  const int count = static_cast<int>(random_.between(5, 20));
  for (int i = 0; i < count; ++i) {
    const std::string target =
        random_token(random_, static_cast<size_t>(random_.between(4, 9))) + "@" + hosts_[mx].domain;
    if (random_.chance(0.75)) {
      plan.recipients.push_back(
          {target, "550 5.1.1 <" + target +
                       ">: Recipient address rejected: User unknown in virtual "
                       "mailbox table"});
    } else {
      plan.recipients.push_back({target, "250 2.1.5 Ok"});
    }
  }
  plan.message = spam_message(hosts_[bot], "undisclosed-recipients:;", time);
  bot_session(bot, mx, std::move(plan), time);
}

void Generator::blocklisted(size_t bot, Timestamp time) {
  // The demo has one receiver that refuses the bot; larger scenarios several.
  const size_t mx = options_.demo_bot ? blocklisting_mx_.front() : random_.pick(blocklisting_mx_);
  SmtpPlan plan;
  plan.mail_from = random_token(random_, 8) + "@" + invented_domain();
  if (random_.chance(0.4)) plan.refusal_greeting = blocklist_reply(hosts_[bot]);
  const int count = static_cast<int>(random_.between(1, 3));
  for (int i = 0; i < count; ++i) {
    const std::string target = person(nullptr) + "@" + hosts_[mx].domain;
    plan.recipients.push_back({target, blocklist_reply(hosts_[bot])});
  }
  plan.message = spam_message(hosts_[bot], "<" + plan.recipients[0].address + ">", time);
  bot_session(bot, mx, std::move(plan), time);
}

void Generator::fan_out(size_t bot, Timestamp time) {
  Host &client = hosts_[bot];
  if (client.fan_out_targets.empty()) return;
  // Mostly a new server each time; now and then one it has seen before.
  size_t target = 0;
  if (client.fan_out_cursor > 0 && random_.chance(0.1)) {
    // The cursor keeps counting after wrapping around the targets; pick among those used.
    size_t used = std::min<size_t>(client.fan_out_cursor, client.fan_out_targets.size());
    target = client.fan_out_targets[random_.below(used)];
  } else {
    target = client.fan_out_targets[client.fan_out_cursor % client.fan_out_targets.size()];
    ++client.fan_out_cursor;
  }
  SmtpPlan plan;
  plan.mail_from = random_token(random_, 8) + "@" + invented_domain();
  const int count = static_cast<int>(random_.between(1, 4));
  for (int i = 0; i < count; ++i) {
    const std::string address = person(nullptr) + "@" + hosts_[target].domain;
    if (random_.chance(0.08)) {
      plan.recipients.push_back(
          {address, "550 5.1.1 <" + address + ">: Recipient address rejected: User unknown"});
    } else {
      plan.recipients.push_back({address, "250 2.1.5 Ok"});
    }
  }
  plan.message = spam_message(client, "<" + plan.recipients[0].address + ">", time);
  bot_session(bot, target, std::move(plan), time);
}

void Generator::fire(const Scheduled &item) {
  const Timestamp time = item.time;
  switch (item.activity) {
    case Activity::kWebTls:
      web_tls(item.host, time);
      break;
    case Activity::kWebHttp:
      web_http(item.host, random_.pick(sites_), time);
      break;
    case Activity::kIntranet:
      web_http(item.host, web_server_, time);
      break;
    case Activity::kImap:
      imap(item.host, time);
      break;
    case Activity::kSubmission:
      submission(item.host, time);
      break;
    case Activity::kLookup:
      lookup(item.host, time);
      break;
    case Activity::kInboundMail:
      inbound_mail(time);
      break;
    case Activity::kInboundWeb:
      web_http(random_.pick(outside_clients_), web_server_, time);
      break;
    case Activity::kRelayProbe:
      relay_probe(item.host, time);
      break;
    case Activity::kDeadAddresses:
      dead_addresses(item.host, time);
      break;
    case Activity::kBlocklisted:
      blocklisted(item.host, time);
      break;
    case Activity::kFanOut:
      fan_out(item.host, time);
      break;
  }
  const auto gap = static_cast<Timestamp>(random_.exponential(item.mean_seconds) * 1e9);
  schedule(item.host, item.activity, item.mean_seconds,
           time + std::max<Timestamp>(gap, kMillisecond));
}

void Generator::run() {
  const Timestamp start = options_.start;
  auto first = [&](double mean) {
    return start + static_cast<Timestamp>(random_.exponential(mean) * 1e9);
  };
  const double web_mean = 3600.0 / std::max(options_.web_per_desktop_hour, 0.01);
  const double mail_mean = 3600.0 / std::max(options_.mail_per_desktop_hour, 0.01);
  for (size_t desktop : desktops_) {
    schedule(desktop, Activity::kWebTls, web_mean, first(web_mean));
    schedule(desktop, Activity::kWebHttp, web_mean * 5, first(web_mean * 5));
    schedule(desktop, Activity::kIntranet, web_mean * 6, first(web_mean * 6));
    schedule(desktop, Activity::kLookup, web_mean * 2, first(web_mean * 2));
    schedule(desktop, Activity::kImap, 420, start + random_.below(420) * kNanosPerSecond);
    schedule(desktop, Activity::kSubmission, mail_mean, first(mail_mean));

    const Host &host = hosts_[desktop];
    for (BotKind kind : host.kinds) {
      double mean = 30;
      Activity activity = Activity::kRelayProbe;
      switch (kind) {
        case BotKind::kRelayProber:
          mean = 30;
          activity = Activity::kRelayProbe;
          break;
        case BotKind::kDeadAddressMailer:
          mean = 45;
          activity = Activity::kDeadAddresses;
          break;
        case BotKind::kBlocklisted:
          mean = 60;
          activity = Activity::kBlocklisted;
          break;
        case BotKind::kFanOut:
          mean = 8;
          activity = Activity::kFanOut;
          break;
      }
      // Every bot shows itself early, so short captures see each kind at work.
      const Timestamp early = static_cast<Timestamp>(random_.unit() * std::min(mean, 20.0) * 1e9);
      schedule(desktop, activity, mean, start + early);
    }
  }
  const double inbound_mean = 3600.0 / (6.0 + 2.0 * options_.hosts);
  schedule(mail_server_, Activity::kInboundMail, inbound_mean, first(inbound_mean));
  const double visitor_mean = 3600.0 / (10.0 + options_.hosts);
  schedule(web_server_, Activity::kInboundWeb, visitor_mean, first(visitor_mean));

  const Timestamp end = start + options_.duration;
  auto still_generating = [&](Timestamp time) {
    if (options_.target_bytes > 0) return pcap_.file_bytes() < options_.target_bytes;
    return time < end;
  };
  while (true) {
    const bool activity_due = !activities_.empty() && still_generating(activities_.top().time) &&
                              (traffic_.empty() || activities_.top().time <= traffic_.next_time());
    if (activity_due) {
      const Scheduled item = activities_.top();
      activities_.pop();
      fire(item);
      continue;
    }
    if (traffic_.empty()) break;
    traffic_.write_next();
  }
}

std::string Generator::truth_json(const ScenarioSummary &summary,
                                  const std::string &capture) const {
  auto codes = [](const std::map<int, uint64_t> &counts) {
    std::string out = "{";
    for (const auto &[code, count] : counts) {
      if (out.size() > 1) out += ", ";
      out += "\"" + std::to_string(code) + "\": " + std::to_string(count);
    }
    return out + "}";
  };

  std::string out = "{\n";
  out += "  \"format\": \"spamtap-synth-truth/1\",\n";
  out += "  \"scenario\": \"" + json_escape(options_.name) + "\",\n";
  out += "  \"seed\": " + std::to_string(options_.seed) + ",\n";
  out += "  \"capture\": \"" + json_escape(capture) + "\",\n";
  out += "  \"start\": \"" + format_iso8601(summary.first_packet) + "\",\n";
  out += "  \"end\": \"" + format_iso8601(summary.last_packet) + "\",\n";
  out += "  \"home_networks\": [\"10.20.0.0/16\", \"fd7a:1c20:5::/48\"],\n";
  out += "  \"organisation_domain\": \"" + json_escape(org_domain_) + "\",\n";
  out += "  \"totals\": {\"packets\": " + std::to_string(summary.packets) +
         ", \"tcp_connections\": " + std::to_string(summary.tcp_connections) +
         ", \"udp_exchanges\": " + std::to_string(summary.udp_exchanges) +
         ", \"smtp_sessions\": " + std::to_string(summary.smtp_sessions) +
         ", \"smtp_reply_codes\": " + codes(summary.smtp_reply_codes) +
         ", \"legitimate_bounces\": " + std::to_string(bounces_) + "},\n";

  out += "  \"bots\": [";
  bool first_bot = true;
  for (const Host &host : hosts_) {
    if (!host.is_bot()) continue;
    out += std::string(first_bot ? "" : ", ") + "\"" + host.v4.address.to_string() + "\"";
    first_bot = false;
  }
  out += "],\n  \"hosts\": [\n";
  bool first_host = true;
  for (const Host &host : hosts_) {
    if (!host.seen) continue;
    out += first_host ? "    {" : ",\n    {";
    first_host = false;
    out += "\"address\": \"" + host.v4.address.to_string() + "\"";
    if (host.has_v6) out += ", \"address6\": \"" + host.v6.address.to_string() + "\"";
    out += ", \"name\": \"" + json_escape(host.name) + "\"";
    out += ", \"role\": \"" + std::string(to_string(host.role)) + "\"";
    out += std::string(", \"internal\": ") + (host.internal ? "true" : "false");
    if (!host.domain.empty()) out += ", \"domain\": \"" + json_escape(host.domain) + "\"";
    if (host.uses_blocklist) out += ", \"refuses_blocklisted_clients\": true";
    if (host.smtp.sessions > 0) {
      out += ", \"smtp_client\": {\"sessions\": " + std::to_string(host.smtp.sessions) +
             ", \"recipients\": " + std::to_string(host.smtp.recipients) +
             ", \"messages\": " + std::to_string(host.smtp.messages) +
             ", \"reply_codes\": " + codes(host.smtp.reply_codes) + "}";
    }
    if (host.is_bot()) {
      out += ", \"bot\": {\"kinds\": [";
      for (size_t i = 0; i < host.kinds.size(); ++i) {
        out += std::string(i ? ", " : "") + "\"" + to_string(host.kinds[i]) + "\"";
      }
      out += "], \"habits\": [";
      for (size_t i = 0; i < host.habits.size(); ++i) {
        out += std::string(i ? ", " : "") + "\"" + to_string(host.habits[i]) + "\"";
      }
      out += "]";
      if (host.has(BotHabit::kBulkMailer)) {
        out += ", \"x_mailer\": \"" + json_escape(host.bulk_mailer) + "\"";
      }
      out += "}";
    }
    out += "}";
  }
  out += "\n  ]\n}\n";
  return out;
}

std::string base_name(const std::string &path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

ScenarioSummary write_scenario(const ScenarioOptions &options, const std::string &path) {
  if (options.hosts < 1 || options.hosts > 60000) {
    throw std::invalid_argument("synth: hosts must be between 1 and 60000");
  }
  if (options.duration <= 0 && options.target_bytes == 0) {
    throw std::invalid_argument("synth: give a positive duration or a target size");
  }
  if (options.bots_per_kind < 0) throw std::invalid_argument("synth: bots must not be negative");

  const auto wall_start = std::chrono::steady_clock::now();
  PcapWriter pcap(path, options.precision);
  Generator generator(options, pcap);
  generator.build_world();
  generator.run();
  pcap.close();

  ScenarioSummary summary;
  summary.packets = pcap.packets();
  summary.file_bytes = pcap.file_bytes();
  summary.smtp_sessions = generator.smtp().sessions;
  summary.smtp_reply_codes = generator.smtp().reply_codes;
  summary.bots = generator.bot_count();
  summary.truth_path = truth_path_for(path);
  generator.fill_traffic_totals(&summary);

  std::ofstream truth(summary.truth_path, std::ios::binary | std::ios::trunc);
  truth << generator.truth_json(summary, base_name(path));
  truth.close();
  if (!truth) throw std::runtime_error("cannot write truth file " + summary.truth_path);
  summary.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return summary;
}

}  // namespace spamtap::synth
