#include "analysis/table.hpp"

#include <algorithm>

#include "core/text.hpp"

namespace spamtap {

namespace {

std::string plain(const nlohmann::json& cell) {
  if (cell.is_null()) return "";
  if (cell.is_string()) return cell.get<std::string>();
  return cell.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Display width in code points; good enough for aligned columns.
size_t width(const std::string& text) {
  size_t count = 0;
  for (unsigned char c : text) count += (c & 0xC0) != 0x80;
  return count;
}

std::string csv_cell(const std::string& text) {
  // Formula-looking cells are prefixed so spreadsheets do not evaluate them.
  // Control bytes from the wire are shown as \xNN here too: a CSV is often read on a
  // terminal, and no spreadsheet needs a raw escape sequence.
  std::string value = escape_control(text);
  if (!value.empty() &&
      (value[0] == '=' || value[0] == '+' || value[0] == '-' || value[0] == '@')) {
    bool numeric = value.find_first_not_of("+-0123456789.eE") == std::string::npos;
    if (!numeric) value.insert(value.begin(), '\'');
  }
  bool quote = value.find_first_of(",\"\r\n") != std::string::npos;
  if (!quote) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

bool parse_output_format(const std::string& text, OutputFormat* format) {
  if (text == "table") {
    *format = OutputFormat::kTable;
  } else if (text == "json") {
    *format = OutputFormat::kJson;
  } else if (text == "csv") {
    *format = OutputFormat::kCsv;
  } else {
    return false;
  }
  return true;
}

void render(const Table& table, OutputFormat format, std::ostream& out) {
  switch (format) {
    case OutputFormat::kJson:
      for (const auto& row : table.rows) {
        nlohmann::json object = nlohmann::json::object();
        for (size_t i = 0; i < table.columns.size() && i < row.size(); ++i) {
          object[table.columns[i]] = row[i];
        }
        out << object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
      }
      return;
    case OutputFormat::kCsv: {
      for (size_t i = 0; i < table.columns.size(); ++i) {
        out << (i ? "," : "") << csv_cell(table.columns[i]);
      }
      out << "\r\n";
      for (const auto& row : table.rows) {
        for (size_t i = 0; i < row.size(); ++i) out << (i ? "," : "") << csv_cell(plain(row[i]));
        out << "\r\n";
      }
      return;
    }
    case OutputFormat::kTable: {
      std::vector<std::vector<std::string>> cells;
      std::vector<size_t> widths;
      for (const auto& column : table.columns) widths.push_back(width(column));
      for (const auto& row : table.rows) {
        std::vector<std::string> line;
        for (size_t i = 0; i < row.size(); ++i) {
          std::string text = escape_control(plain(row[i]));
          if (i < widths.size()) widths[i] = std::max(widths[i], std::min<size_t>(width(text), 80));
          line.push_back(std::move(text));
        }
        cells.push_back(std::move(line));
      }
      auto print_line = [&](const std::vector<std::string>& line) {
        for (size_t i = 0; i < line.size(); ++i) {
          std::string text = line[i];
          bool last = i + 1 == line.size();
          if (!last && width(text) < widths[i]) text.append(widths[i] - width(text), ' ');
          out << text << (last ? "" : "  ");
        }
        out << '\n';
      };
      print_line(table.columns);
      for (const auto& line : cells) print_line(line);
      if (table.rows.empty()) out << "(no rows)\n";
      return;
    }
  }
}

}  // namespace spamtap
