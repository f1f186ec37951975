// A trace in the Chrome Trace Event JSON format, to open in Perfetto UI (ui.perfetto.dev) or
// chrome://tracing: per device (one process each), a counter track of allocated bytes per tag,
// one of all tags together and one of reserved bytes; the phases as slices and the peak and
// out-of-memory events as instants on a "phases" thread. Times are microseconds from time_ns.
#pragma once

#include <iosfwd>
#include <string>

#include "allocator/event.h"

namespace tally::cli {

// Writes {"traceEvents": [...], "displayTimeUnit": "ns"}, one event a line, as it replays the
// trace: memory stays flat however long the trace is.
void write_perfetto_trace(const Trace& trace, std::ostream& out);

// Throws tally::Error (io_error) when the file cannot be written.
void write_perfetto_trace(const Trace& trace, const std::string& path);

}  // namespace tally::cli
