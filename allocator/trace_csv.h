// The trace file format: CSV, one event per line, documented in docs/allocator.md.
//
//   # tally trace v1
//   seq,time_ns,action,device,address,requested,allocated,stream,tag,prev_tag,scope,phase
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

#include "allocator/event.h"

namespace tally {

inline constexpr std::string_view kTraceVersionLine = "# tally trace v1";
inline constexpr std::string_view kTraceHeader =
    "seq,time_ns,action,device,address,requested,allocated,stream,tag,prev_tag,scope,phase";

void write_trace_csv(const Trace& trace, std::ostream& out);
void write_trace_csv(const Trace& trace, const std::string& path);

// Throws tally::Error "<source>:<line>: <problem>" for a malformed trace.
Trace read_trace_csv(std::istream& in, std::string_view source);
Trace read_trace_csv(const std::string& path);

}  // namespace tally
