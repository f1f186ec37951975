#include "allocator/csv_line.h"

#include <istream>

#include "allocator/error.h"
#include "allocator/printable.h"

namespace tally {

void CsvLine::fail(const std::string& problem, std::source_location where) const {
  throw Error(ErrorKind::data, std::string(call_), std::string(code_),
              std::string(source_) + ":" + std::to_string(line_) + ": " + printable(problem),
              where);
}

std::vector<std::string> CsvLine::split(std::string_view text) const {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c != '"') {
        fields.back() += c;
      } else if (i + 1 < text.size() && text[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else {
        quoted = false;
      }
    } else if (c == '"' && fields.back().empty()) {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  if (quoted) fail("unterminated quoted field");
  return fields;
}

std::uint64_t CsvLine::hex(std::string_view column, std::string_view text) const {
  if (!text.starts_with("0x")) {
    fail(std::string(column) + ": expected 0x-prefixed hex, got '" + std::string(text) + "'");
  }
  return convert<std::uint64_t>(column, text, text.substr(2), 16);
}

CsvReader::CsvReader(std::istream& in, std::string_view source, std::string_view code,
                     std::string_view kind, std::string_view version, std::string_view header)
    : in_(in), source_(source), code_(code) {
  // A file that ends early fails on the line it lacks.
  if (version.empty()) {
    if (!read_line() || text_ != header) {
      CsvLine(source_, 1, code_)
          .fail("not " + std::string(kind) + " (the first line must be '" + std::string(header) +
                "')");
    }
    return;
  }
  if (!read_line() || text_ != version) {
    CsvLine(source_, line_ == 0 ? 1 : line_, code_)
        .fail("not " + std::string(kind) + " (the first line must be '" + std::string(version) +
              "')");
  }
  if (!read_line() || text_ != header) {
    CsvLine(source_, line_ == 1 ? 2 : line_, code_)
        .fail("expected the header '" + std::string(header) + "'");
  }
}

std::optional<CsvLine> CsvReader::next() {
  while (read_line()) {
    if (!text_.empty()) return CsvLine(source_, line_, code_);
  }
  return std::nullopt;
}

bool CsvReader::read_line() {
  if (!std::getline(in_, text_)) return false;
  ++line_;
  if (!text_.empty() && text_.back() == '\r') text_.pop_back();
  return true;
}

}  // namespace tally
