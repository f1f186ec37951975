#include "cli/report_perfetto.h"

#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>

#include "allocator/error.h"
#include "allocator/peak_analysis.h"
#include "cli/report_timeline.h"

namespace tally::cli {
namespace {

// Slices and instants need a thread to sit on. Counters belong to the process, but name the
// same thread so that importers which default tid to pid make no empty thread for them.
constexpr int kPhaseThread = 1;

// Microseconds with the nanoseconds kept exactly, as the format's "ts" and "dur" want.
std::string micros(std::uint64_t ns) {
  char text[32];
  std::snprintf(text, sizeof text, "%llu.%03llu", static_cast<unsigned long long>(ns / 1000),
                static_cast<unsigned long long>(ns % 1000));
  return text;
}

// Names come from the trace; bytes that are not UTF-8 become U+FFFD rather than an exception.
std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

class EventWriter {
 public:
  explicit EventWriter(std::ostream& out) : out_(out) { out_ << "{\"traceEvents\":[\n"; }
  void finish() { out_ << "\n],\"displayTimeUnit\":\"ns\"}\n"; }

  // Counters come once or more per allocator event, so they skip the JSON library.
  void counter(int pid, const char* name, std::uint64_t time_ns, std::int64_t bytes) {
    separate();
    out_ << "{\"ph\":\"C\",\"pid\":" << pid << ",\"tid\":" << kPhaseThread << ",\"name\":\"" << name
         << "\",\"ts\":" << micros(time_ns) << ",\"args\":{\"bytes\":" << bytes << "}}";
  }
  void slice(int pid, Phase phase, std::uint64_t begin_ns, std::uint64_t end_ns) {
    separate();
    out_ << "{\"ph\":\"X\",\"cat\":\"phase\",\"pid\":" << pid << ",\"tid\":" << kPhaseThread
         << ",\"name\":\"" << phase_name(phase) << "\",\"ts\":" << micros(begin_ns)
         << ",\"dur\":" << micros(end_ns > begin_ns ? end_ns - begin_ns : 0) << "}";
  }
  void instant(int pid, const std::string& name, std::uint64_t time_ns,
               const nlohmann::json& args) {
    separate();
    out_ << "{\"ph\":\"i\",\"s\":\"t\",\"pid\":" << pid << ",\"tid\":" << kPhaseThread
         << ",\"name\":" << dump(name) << ",\"ts\":" << micros(time_ns)
         << ",\"args\":" << dump(args) << "}";
  }
  void metadata(int pid, const char* what, const std::string& name) {
    separate();
    out_ << dump({{"ph", "M"},
                  {"pid", pid},
                  {"tid", kPhaseThread},
                  {"name", what},
                  {"args", {{"name", name}}}});
  }

 private:
  void separate() {
    if (!first_) out_ << ",\n";
    first_ = false;
  }
  std::ostream& out_;
  bool first_ = true;
};

// "allocated: parameter" and so on, built once rather than per event.
std::array<std::string, kTagCount> tag_counter_names() {
  std::array<std::string, kTagCount> names;
  for (Tag tag : kAllTags) names[index_of(tag)] = "allocated: " + std::string(tag_name(tag));
  return names;
}

// A counter is written only when its value changes, so the file grows with the events that
// change memory and not with the number of counters.
void add_device(const Trace& trace, std::uint16_t device, EventWriter& out) {
  const int pid = device + 1;
  out.metadata(pid, "process_name", "tally " + trace.devices[device]);
  out.metadata(pid, "thread_name", "phases");
  static const std::array<std::string, kTagCount> names = tag_counter_names();
  const PeakSnapshot peak = find_peak(trace, device);
  MemoryReplay replay;
  MemoryState shown;
  bool first = true;
  Phase phase = Phase::none;
  std::uint64_t phase_begin = 0;
  std::uint64_t last_ns = 0;
  for (const Event& e : trace.events) {
    if (e.device != device) continue;
    replay.apply(e);
    const MemoryState& now = replay.state();
    for (std::size_t t = 0; t < kTagCount; ++t) {
      if (now.allocated_by_tag[t] != shown.allocated_by_tag[t]) {
        out.counter(pid, names[t].c_str(), e.time_ns, now.allocated_by_tag[t]);
      }
    }
    if (first || now.allocated != shown.allocated) {
      out.counter(pid, "allocated: total", e.time_ns, now.allocated);
    }
    if (first || now.reserved != shown.reserved) {
      out.counter(pid, "reserved", e.time_ns, now.reserved);
    }
    shown = now;
    if (first || e.phase != phase) {
      if (!first && phase != Phase::none) out.slice(pid, phase, phase_begin, e.time_ns);
      phase = e.phase;
      phase_begin = e.time_ns;
    }
    first = false;
    last_ns = e.time_ns;
    if (peak.found && e.seq == peak.seq) {
      out.instant(pid, "peak allocated", e.time_ns,
                  {{"allocated_bytes", peak.allocated},
                   {"reserved_bytes", peak.reserved},
                   {"phase", std::string(phase_name(peak.phase))},
                   {"scope", peak.scope},
                   {"seq", peak.seq}});
    }
    if (e.action == Action::oom) {
      out.instant(pid, "out of memory", e.time_ns,
                  {{"requested_bytes", e.requested},
                   {"tag", std::string(tag_name(e.tag.value_or(Tag::other)))},
                   {"scope", scope_name(e.scope)},
                   {"seq", e.seq}});
    }
  }
  if (!first && phase != Phase::none) out.slice(pid, phase, phase_begin, last_ns);
}

}  // namespace

void write_perfetto_trace(const Trace& trace, std::ostream& out) {
  EventWriter writer(out);
  for (std::size_t d = 0; d < trace.devices.size(); ++d) {
    add_device(trace, static_cast<std::uint16_t>(d), writer);
  }
  writer.finish();
}

void write_perfetto_trace(const Trace& trace, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw DataError("cannot write Perfetto trace to '" + path + "'");
  write_perfetto_trace(trace, out);
  if (!out.flush()) throw DataError("failed writing Perfetto trace to '" + path + "'");
}

}  // namespace tally::cli
