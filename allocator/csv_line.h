// The pieces of tally's CSV readers (traces, RMM logs, conv algorithm tables), shared so that
// their fields split alike and every error names the file and line.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace tally {

// One line of a CSV file that a reader is taking apart.
class CsvLine {
 public:
  // fail() throws a data tally::Error(call, code, "<source>:<line>: <problem>"), with any control
  // character in the problem (a NUL, a CR, from the field it quotes) written \xNN, so that the
  // message stays one printable line. The views are kept, not copied, as a reader makes one
  // CsvLine a line: what they name must outlive it.
  CsvLine(std::string_view source, std::size_t line, std::string_view code,
          std::string_view call = "")
      : source_(source), line_(line), code_(code), call_(call) {}

  std::size_t line() const { return line_; }

  // `where` is the reader's call, so that an error with a call names the reader's line.
  [[noreturn]] void fail(const std::string& problem,
                         std::source_location where = std::source_location::current()) const;

  // Fields as RFC 4180 quotes them: one that begins with " runs to the closing ", and "" inside
  // it is a ". Fails on a quote left open, since the reader takes one line a record.
  std::vector<std::string> split(std::string_view text) const;

  // The whole of `text` as a decimal T, failing below `least`.
  template <typename T = std::uint64_t>
  T number(std::string_view column, std::string_view text, T least = 0) const {
    const T value = convert<T>(column, text, text, 10);
    if (value < least) {
      fail(std::string(column) + ": " + std::string(text) + " is below " + std::to_string(least));
    }
    return value;
  }

  // 0x-prefixed hex, the way addresses are written.
  std::uint64_t hex(std::string_view column, std::string_view text) const;

  // An enum by its name: parse_fn returns an optional, empty for a name it does not know.
  template <typename T, typename Parse>
  T parse(std::string_view column, std::string_view text, Parse parse_fn) const {
    const auto value = parse_fn(text);
    if (!value) fail(std::string(column) + ": unknown value '" + std::string(text) + "'");
    return *value;
  }

 private:
  // `digits` is `text` less any prefix; the error quotes all of `text`.
  template <typename T>
  T convert(std::string_view column, std::string_view text, std::string_view digits,
            int base) const {
    T value{};
    const auto [end, ec] =
        std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
      fail(std::string(column) + ": bad number '" + std::string(text) + "'");
    }
    return value;
  }

  std::string_view source_;
  std::size_t line_;
  std::string_view code_;
  std::string_view call_;
};

// A CSV file: tally's own formats begin with a version line, then the header, then one record a
// line; other tools' files (RMM's) begin with the header. Lines may end in \r\n (a file saved on
// Windows), and empty ones are skipped.
class CsvReader {
 public:
  // Reads the version line and the header, failing with "not <kind> (the first line must be
  // '<version>')" or "expected the header '<header>'"; with no version, reads the header alone,
  // failing with "not <kind> (the first line must be '<header>')". The views are kept, as
  // CsvLine's are.
  CsvReader(std::istream& in, std::string_view source, std::string_view code, std::string_view kind,
            std::string_view version, std::string_view header);

  // The next record's line, nullopt at the end; its text is text() until the next call.
  std::optional<CsvLine> next();
  const std::string& text() const { return text_; }

 private:
  bool read_line();

  std::istream& in_;
  std::string_view source_;
  std::string_view code_;
  std::string text_;
  std::size_t line_ = 0;
};

}  // namespace tally
