// Imports the CSV that RAPIDS RMM's logging_resource_adaptor writes, so that an RMM workload
// replays against tally's strategies like a native trace:
//
//   Thread,Time,Action,Pointer,Size,Stream
//   140573312345856,1634567890.123456,allocate,0x7f8a40000000,1024,0x7f8a38001020
//
// `allocate` and `deallocate` become alloc and free events (tag other, no scope or phase);
// `allocate failure` becomes an oom event. Streams are numbered in order of first appearance.
// Times in seconds become nanoseconds from the first event; other time formats, and times past
// 2^64 ns, give 0.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

#include "allocator/event.h"

namespace tally {

inline constexpr std::string_view kRmmLogHeader = "Thread,Time,Action,Pointer,Size,Stream";

// Throws tally::Error "<source>:<line>: <problem>" for a malformed log.
Trace read_rmm_log(std::istream& in, std::string_view source);

// A tally trace or an RMM log, told apart by the first line.
Trace read_any_trace(const std::string& path);

}  // namespace tally
