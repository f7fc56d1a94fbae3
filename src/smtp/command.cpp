#include "smtp/command.hpp"

#include <algorithm>
#include <array>

#include "smtp/text.hpp"

namespace spamtap::smtp {
namespace {

constexpr size_t kMinVerb = 4;  // every verb of RFC 5321 and of its extensions has four or more
constexpr size_t kMaxVerb = 16;
constexpr uint64_t kMaxBdatSize = uint64_t{1} << 62;  // any honest chunk is far below

struct VerbName {
  std::string_view name;
  Verb kind;
};

constexpr std::array<VerbName, 14> kVerbs = {{
    {"HELO", Verb::Helo},  {"EHLO", Verb::Ehlo},         {"MAIL", Verb::Mail},
    {"RCPT", Verb::Rcpt},  {"DATA", Verb::Data},         {"BDAT", Verb::Bdat},
    {"AUTH", Verb::Auth},  {"STARTTLS", Verb::StartTls}, {"RSET", Verb::Rset},
    {"QUIT", Verb::Quit},  {"NOOP", Verb::Other},        {"VRFY", Verb::Other},
    {"EXPN", Verb::Other}, {"HELP", Verb::Other},
}};

const VerbName* find_verb(std::string_view upper) {
  for (const auto& verb : kVerbs) {
    if (verb.name == upper) return &verb;
  }
  return nullptr;
}

bool is_letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

bool verb_shaped(std::string_view word) {
  if (word.size() < kMinVerb || word.size() > kMaxVerb || !is_letter(word.front())) return false;
  return std::all_of(word.begin(), word.end(),
                     [](char c) { return is_letter(c) || is_digit(c) || c == '-'; });
}

}  // namespace

CommandLine parse_command(std::string_view line) {
  CommandLine command;
  size_t at = 0;
  while (at < line.size() && is_space(line[at])) ++at;
  size_t verb_start = at;
  while (at < line.size() && !is_space(line[at])) ++at;
  std::string_view verb = line.substr(verb_start, at - verb_start);

  command.verb.reserve(std::min(verb.size(), kMaxVerb));
  for (char c : verb.substr(0, kMaxVerb)) command.verb.push_back(ascii_upper(c));
  if (const VerbName* known = find_verb(command.verb)) {
    command.kind = known->kind;
    command.known = true;
  }
  command.verb_shaped = verb_shaped(verb);

  command.argument = trim(line.substr(at));
  return command;
}

std::string_view command_path(std::string_view argument, std::string_view keyword) {
  argument = trim(argument);
  if (starts_with_ignoring_case(argument, keyword)) argument.remove_prefix(keyword.size());
  argument = trim(argument);

  if (!argument.empty() && argument.front() == '<') {
    size_t close = argument.find('>');
    return close == std::string_view::npos ? argument.substr(1) : argument.substr(1, close - 1);
  }
  size_t end = 0;
  while (end < argument.size() && !is_space(argument[end])) ++end;
  return argument.substr(0, end);
}

std::optional<BdatArgument> parse_bdat(std::string_view argument) {
  argument = trim(argument);
  size_t at = 0;
  uint64_t size = 0;
  while (at < argument.size() && is_digit(argument[at])) {
    size = size * 10 + static_cast<uint64_t>(argument[at] - '0');
    if (size > kMaxBdatSize) return std::nullopt;
    ++at;
  }
  if (at == 0) return std::nullopt;

  std::string_view rest = trim(argument.substr(at));
  if (at < argument.size() && !is_space(argument[at])) return std::nullopt;
  if (!rest.empty() && !equals_ignoring_case(rest, "LAST")) return std::nullopt;
  return BdatArgument{size, !rest.empty()};
}

bool looks_like_other_protocol(std::string_view line) {
  if (!line.empty()) {
    auto first = static_cast<uint8_t>(line.front());
    if (first == 0x16 || first == 0x80) return true;  // TLS record / SSLv2 hello
  }
  static constexpr std::array<std::string_view, 8> kHttpMethods = {
      "GET ", "POST ", "HEAD ", "PUT ", "OPTIONS ", "CONNECT ", "DELETE ", "PRI * HTTP/2"};
  for (auto method : kHttpMethods) {
    if (line.substr(0, method.size()) == method) return true;
  }
  return false;
}

bool looks_like_command(std::string_view line) {
  CommandLine command = parse_command(line);
  return find_verb(command.verb) != nullptr;
}

}  // namespace spamtap::smtp
