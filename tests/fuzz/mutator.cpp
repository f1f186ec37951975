#include "tests/fuzz/mutator.h"

#include <algorithm>
#include <array>
#include <string_view>
#include <vector>

namespace tally::testing {
namespace {

// Bytes that mean something to one of the readers: separators, quotes, CR, NUL, digits, signs.
constexpr char kInterestingBytes[] = ",\"\r\n\0x.-+0719 \x7f\xff\x1f\x8b";

// Numbers a field may be replaced by: the edges of every integer width, values no integer holds,
// what a float parser would take, and forms another base or a sloppy writer would produce.
const std::array<std::string, 30>& boundary_values() {
  static const std::array<std::string, 30> values = {
      "-1",
      "0",
      "1",
      "-0",
      "+5",
      " 7",
      "7 ",
      "1.5",
      "1e400",
      "-1e400",
      "nan",
      "inf",
      "-inf",
      "",
      "127",
      "65536",
      "2147483648",
      "4294967296",
      "9223372036854775807",
      "9223372036854775808",
      "18446744073709551615",
      "18446744073709551616",
      std::string(400, '9'),
      "0x1f",
      "0x",
      "0xffffffffffffffff",
      "0x10000000000000000",
      "\"\"",
      "\"12\"",
      "\"a\"\"b,c\"",
  };
  return values;
}

// Big-endian 32-bit words for binary headers: sizes of nothing, one, and ones that claim far
// more than any small file holds.
constexpr std::array<std::uint32_t, 8> kBoundaryWords = {
    0, 1, 0x7f, 0x100, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff};

}  // namespace

std::string Mutator::mutate(std::string input, std::span<const std::string> others) {
  const std::size_t count = 1 + below(4);
  for (std::size_t i = 0; i < count; ++i) mutate_once(input, others);
  return input;
}

void Mutator::mutate_once(std::string& s, std::span<const std::string> others) {
  switch (below(16)) {
    case 0: {  // flip one bit
      if (!s.empty()) s[position(s)] ^= static_cast<char>(1u << below(8));
      break;
    }
    case 1: {  // overwrite a byte
      if (!s.empty()) s[position(s)] = interesting_byte();
      break;
    }
    case 2: {  // insert bytes
      std::string bytes;
      for (std::size_t n = 1 + below(4); n > 0; --n) bytes += interesting_byte();
      s.insert(position(s, true), bytes);
      break;
    }
    case 3: {  // delete bytes
      const std::size_t at = position(s, true);
      s.erase(at, 1 + below(16));
      break;
    }
    case 4: {  // duplicate bytes somewhere else
      const std::size_t at = position(s, true);
      const std::string piece = s.substr(at, 1 + below(32));
      s.insert(position(s, true), piece);
      break;
    }
    case 5: {  // duplicate a line
      const auto [b, e] = line(s);
      s.insert(b, s.substr(b, e - b) + '\n');
      break;
    }
    case 6: {  // delete a line
      const auto [b, e] = line(s);
      s.erase(b, e - b + 1);
      break;
    }
    case 7: {  // swap two lines
      const auto [b1, e1] = line(s);
      const auto [b2, e2] = line(s);
      if (b1 == b2) break;
      const auto first = std::min(std::pair{b1, e1}, std::pair{b2, e2});
      const auto second = std::max(std::pair{b1, e1}, std::pair{b2, e2});
      const std::string a = s.substr(first.first, first.second - first.first);
      const std::string b = s.substr(second.first, second.second - second.first);
      s.replace(second.first, b.size(), a);
      s.replace(first.first, a.size(), b);
      break;
    }
    case 8: {  // cut the file short
      s.resize(position(s, true));
      break;
    }
    case 9: {  // swap two fields of one line
      const auto [b, e] = line(s);
      std::vector<std::pair<std::size_t, std::size_t>> fields;
      for (std::size_t start = b;;) {
        const std::size_t comma = std::min(s.find(',', start), e);
        fields.emplace_back(start, comma);
        if (comma == e) break;
        start = comma + 1;
      }
      const auto f1 = fields[below(fields.size())];
      const auto f2 = fields[below(fields.size())];
      if (f1.first == f2.first) break;
      const auto first = std::min(f1, f2);
      const auto second = std::max(f1, f2);
      const std::string a = s.substr(first.first, first.second - first.first);
      const std::string c = s.substr(second.first, second.second - second.first);
      s.replace(second.first, c.size(), a);
      s.replace(first.first, a.size(), c);
      break;
    }
    case 10: {  // a whole field becomes a boundary value
      const auto [b, e] = field(s);
      s.replace(b, e - b, boundary_value());
      break;
    }
    case 11: {  // a number (or a dimension of a shape) becomes a boundary value
      const auto [b, e] = digits(s);
      if (b == e) break;
      s.replace(b, e - b, boundary_value());
      break;
    }
    case 12: {  // CRLF line ends, on every line or on one
      if (below(2) == 0) {
        std::string crlf;
        for (const char c : s) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
        s = crlf;
      } else {
        s.insert(line(s).second, "\r");
      }
      break;
    }
    case 13: {  // NUL bytes
      s.insert(position(s, true), std::string(1 + below(3), '\0'));
      break;
    }
    case 14: {  // a big-endian word in a binary header: a count or a size
      const std::size_t words = std::min<std::size_t>(s.size() / 4, 16);
      if (words == 0) break;
      const std::size_t at = 4 * below(words);
      std::uint32_t value = kBoundaryWords[below(kBoundaryWords.size())];
      if (below(4) == 0) value += static_cast<std::uint32_t>(below(3)) - 1;
      for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>(value >> (24 - 8 * i));
      break;
    }
    default: {  // splice in a line of another input
      if (others.empty()) break;
      const std::string& other = others[below(others.size())];
      const auto [b, e] = line(other);
      s.insert(line(s).first, other.substr(b, e - b) + '\n');
      break;
    }
  }
}

std::size_t Mutator::position(const std::string& s, bool end_ok) {
  return below(s.size() + (end_ok ? 1 : 0));
}

std::pair<std::size_t, std::size_t> Mutator::line(const std::string& s) {
  std::vector<std::size_t> starts = {0};
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && i + 1 < s.size()) starts.push_back(i + 1);
  }
  const std::size_t begin = starts[below(starts.size())];
  return {begin, std::min(s.find('\n', begin), s.size())};
}

std::pair<std::size_t, std::size_t> Mutator::field(const std::string& s) {
  const auto [b, e] = line(s);
  std::size_t begin = b;
  for (std::size_t skip = below(16); skip > 0; --skip) {
    const std::size_t comma = s.find(',', begin);
    if (comma >= e) break;
    begin = comma + 1;
  }
  return {begin, std::min(s.find(',', begin), e)};
}

std::pair<std::size_t, std::size_t> Mutator::digits(const std::string& s) {
  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (is_digit(s[i]) && (i == 0 || !is_digit(s[i - 1]))) starts.push_back(i);
  }
  if (starts.empty()) return {0, 0};
  std::size_t end = starts[below(starts.size())];
  const std::size_t begin = end;
  while (end < s.size() && is_digit(s[end])) ++end;
  return {begin, end};
}

char Mutator::interesting_byte() {
  if (below(2) == 0) return static_cast<char>(below(256));
  return kInterestingBytes[below(sizeof kInterestingBytes - 1)];
}

std::string Mutator::boundary_value() {
  return boundary_values()[below(boundary_values().size())];
}

}  // namespace tally::testing
