// Table: the shape every report returns (named columns, rows of JSON values), and
// its three renderings: an aligned text table for terminals, CSV (RFC 4180) and
// JSON lines. Cells that came off the wire are escaped for each target here, once.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace spamtap {

struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<nlohmann::json>> rows;
};

enum class OutputFormat { kTable, kJson, kCsv };

bool parse_output_format(const std::string& text, OutputFormat* format);
void render(const Table& table, OutputFormat format, std::ostream& out);

}  // namespace spamtap
