#include "allocator/trace_csv.h"

#include <charconv>
#include <fstream>
#include <istream>
#include <ostream>
#include <unordered_map>
#include <vector>

#include "allocator/csv_line.h"
#include "allocator/error.h"

namespace tally {
namespace {

// RFC 4180 quoting, needed only for names (scopes, devices) that hold , " or a newline.
void write_field(std::ostream& out, std::string_view text) {
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) {
    out << text;
    return;
  }
  out << '"';
  for (const char c : text) {
    if (c == '"') out << '"';
    out << c;
  }
  out << '"';
}

constexpr std::string_view kErrorCode = "bad_trace";

}  // namespace

void write_trace_csv(const Trace& trace, std::ostream& out) {
  out << kTraceVersionLine << '\n' << kTraceHeader << '\n';
  char address[2 + 16 + 1];
  for (const Event& e : trace.events) {
    auto [end, ec] = std::to_chars(address + 2, address + sizeof address, e.address, 16);
    address[0] = '0';
    address[1] = 'x';
    out << e.seq << ',' << e.time_ns << ',' << action_name(e.action) << ',';
    write_field(out, e.device < trace.devices.size() ? trace.devices[e.device] : "");
    out << ',' << std::string_view(address, end) << ',' << e.requested << ',' << e.allocated << ','
        << e.stream << ',' << (e.tag ? tag_name(*e.tag) : "") << ','
        << (e.prev_tag ? tag_name(*e.prev_tag) : "") << ',';
    write_field(out, scope_name(e.scope));
    out << ',' << phase_name(e.phase) << '\n';
  }
}

void write_trace_csv(const Trace& trace, const std::string& path) {
  std::ofstream out(path);
  if (!out) throw DataError("cannot write trace to '" + path + "'");
  write_trace_csv(trace, out);
  out.flush();
  if (!out) throw DataError("failed writing trace to '" + path + "'");
}

Trace read_trace_csv(std::istream& in, std::string_view source) {
  Trace trace;
  // Event::device indexes trace.devices in 16 bits.
  constexpr std::size_t kMostDevices = std::size_t{1} << 16;
  std::unordered_map<std::string, std::uint16_t> device_index;
  CsvReader reader(in, source, kErrorCode, "a tally trace", kTraceVersionLine, kTraceHeader);
  while (const std::optional<CsvLine> line = reader.next()) {
    const CsvLine& p = *line;
    const std::vector<std::string> f = p.split(reader.text());
    if (f.size() != 12) p.fail("expected 12 fields, found " + std::to_string(f.size()));
    Event e;
    e.seq = p.number("seq", f[0]);
    e.time_ns = p.number("time_ns", f[1]);
    e.action = p.parse<Action>("action", f[2], parse_action);
    auto device = device_index.find(f[3]);
    if (device == device_index.end()) {
      if (trace.devices.size() == kMostDevices) {
        p.fail("device: more than " + std::to_string(kMostDevices) + " devices");
      }
      device = device_index.emplace(f[3], static_cast<std::uint16_t>(trace.devices.size())).first;
      trace.devices.push_back(f[3]);
    }
    e.device = device->second;
    e.address = p.hex("address", f[4]);
    e.requested = p.number("requested", f[5]);
    e.allocated = p.number("allocated", f[6]);
    e.stream = p.number("stream", f[7]);
    const bool segment = e.action == Action::segment_alloc || e.action == Action::segment_free;
    if (segment != f[8].empty()) {
      p.fail(segment ? "tag: segment events carry no tag" : "tag: missing for a block event");
    }
    if (!segment) e.tag = p.parse<Tag>("tag", f[8], parse_tag);
    if ((e.action == Action::retag) == f[9].empty()) {
      p.fail("prev_tag: must be given for retag events and only for them");
    }
    if (e.action == Action::retag) e.prev_tag = p.parse<Tag>("prev_tag", f[9], parse_tag);
    e.scope = intern_scope(f[10]);
    e.phase = p.parse<Phase>("phase", f[11], parse_phase);
    if (e.allocated < e.requested) {
      p.fail("allocated is smaller than requested");
    }
    if (!trace.events.empty() && e.seq <= trace.events.back().seq) {
      p.fail("seq does not increase");
    }
    trace.events.push_back(e);
  }
  return trace;
}

Trace read_trace_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw DataError("cannot open trace '" + path + "'");
  return read_trace_csv(in, path);
}

}  // namespace tally
