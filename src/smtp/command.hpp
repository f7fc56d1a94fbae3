// Parsing of client command lines: the verb, its argument, the path of MAIL FROM and
// RCPT TO, and the size of a BDAT chunk.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace spamtap::smtp {

enum class Verb { Helo, Ehlo, Mail, Rcpt, Data, Bdat, Auth, StartTls, Rset, Quit, Other };

struct CommandLine {
  std::string verb;  // upper-cased, bounded
  std::string_view argument;  // rest of the line after the blanks, not yet bounded
  Verb kind = Verb::Other;
  bool known = false;  // one of the verbs of RFC 5321 and its common extensions
  // The first word has the shape of a verb: 4 to 16 characters, an ASCII letter, then
  // letters, digits or '-'. Binary noise, a lone "." or "Hello," is not a verb.
  bool verb_shaped = false;
};

CommandLine parse_command(std::string_view line);

// "FROM:<a@b> SIZE=10" -> "a@b". `keyword` is "FROM:" or "TO:"; parameters are dropped.
std::string_view command_path(std::string_view argument, std::string_view keyword);

struct BdatArgument {
  uint64_t size = 0;
  bool last = false;
};
// std::nullopt for a missing, signed, non-numeric or overflowing size.
std::optional<BdatArgument> parse_bdat(std::string_view argument);

// True for a line that opens an HTTP request or a TLS/SSL handshake.
bool looks_like_other_protocol(std::string_view first_client_line);

// True when the line starts with a verb SMTP clients send.
bool looks_like_command(std::string_view line);

}  // namespace spamtap::smtp
