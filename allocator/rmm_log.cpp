#include "allocator/rmm_log.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <vector>

#include "allocator/csv_line.h"
#include "allocator/error.h"
#include "allocator/trace_csv.h"

namespace tally {
namespace {

bool parse_unsigned(std::string_view text, int base, std::uint64_t& value) {
  if (base == 16) {
    if (!text.starts_with("0x") && !text.starts_with("0X")) return false;
    text.remove_prefix(2);
  }
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

// "1634567890.123456" (seconds since the epoch) as exact nanoseconds; a double would round them.
// False for other formats, and for times past 2^64 ns (the year 2554).
bool parse_seconds(std::string_view text, std::uint64_t& ns) {
  const std::size_t dot = text.find('.');
  std::uint64_t whole = 0, fraction = 0;
  if (!parse_unsigned(text.substr(0, dot), 10, whole)) return false;
  std::string digits(dot == std::string_view::npos ? "" : text.substr(dot + 1));
  if (digits.size() > 9) return false;
  digits.resize(9, '0');
  if (!parse_unsigned(digits, 10, fraction)) return false;
  constexpr std::uint64_t kSecond = 1'000'000'000;
  if (whole > (std::numeric_limits<std::uint64_t>::max() - fraction) / kSecond) return false;
  ns = whole * kSecond + fraction;
  return true;
}

}  // namespace

Trace read_rmm_log(std::istream& in, std::string_view source) {
  Trace trace;
  trace.devices = {"rmm"};
  CsvReader reader(in, source, "bad_rmm_log", "an RMM log", "", kRmmLogHeader);
  std::map<std::uint64_t, StreamId> streams;
  std::optional<std::uint64_t> first_time;
  while (const std::optional<CsvLine> line = reader.next()) {
    const CsvLine& p = *line;
    const std::vector<std::string> f = p.split(reader.text());
    if (f.size() != 6) {
      p.fail("expected 6 fields, found " + std::to_string(f.size()));
    }
    Event e;
    e.seq = trace.events.size();
    if (f[2] == "allocate") {
      e.action = Action::alloc;
    } else if (f[2] == "deallocate") {
      e.action = Action::free;
    } else if (f[2] == "allocate failure") {
      e.action = Action::oom;
    } else {
      p.fail("unknown action '" + std::string(f[2]) + "'");
    }
    std::uint64_t pointer = 0, size = 0, stream = 0;
    if (!parse_unsigned(f[3], 16, pointer) && e.action != Action::oom) {
      p.fail("bad pointer '" + std::string(f[3]) + "'");
    }
    if (!parse_unsigned(f[4], 10, size)) {
      p.fail("bad size '" + std::string(f[4]) + "'");
    }
    if (!parse_unsigned(f[5], 16, stream) && !parse_unsigned(f[5], 10, stream)) {
      p.fail("bad stream '" + std::string(f[5]) + "'");
    }
    std::uint64_t ns = 0;
    if (parse_seconds(f[1], ns)) {
      if (!first_time) first_time = ns;
      e.time_ns = ns - std::min(ns, *first_time);
    }
    e.address = e.action == Action::oom ? 0 : pointer;
    e.requested = size;
    e.allocated = size;
    e.stream = streams.emplace(stream, static_cast<StreamId>(streams.size())).first->second;
    e.tag = Tag::other;
    trace.events.push_back(e);
  }
  return trace;
}

Trace read_any_trace(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw DataError(path + ": cannot open");
  std::string first;
  std::getline(in, first);
  if (first.ends_with('\r')) first.pop_back();
  in.clear();
  in.seekg(0);
  return first == kRmmLogHeader ? read_rmm_log(in, path) : read_trace_csv(in, path);
}

}  // namespace tally
