// Replays a recorded trace's block events (alloc, free, retag) against a strategy over a
// VirtualBacking, so that strategies can be compared on the same real workload without its data
// or its device. Segment and oom events are the recording strategy's own and are not replayed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "allocator/config.h"
#include "allocator/event.h"

namespace tally {

struct ReplayResult {
  std::string strategy;
  std::int64_t peak_reserved = 0;
  std::int64_t peak_allocated = 0;
  // The trace's lower bound: the most requested bytes live at once. No allocator reserves less.
  std::int64_t lower_bound = 0;
  std::int64_t segment_allocs = 0;  // segments obtained from the backing
  // Segments returned to it while the trace ran; those still held at its end are not counted.
  std::int64_t segment_frees = 0;
  // Host time of the replayed allocate and deallocate calls: the allocator's own bookkeeping,
  // since a VirtualBacking hands out addresses only.
  double alloc_p50_ns = 0;
  double alloc_p99_ns = 0;
  double free_p50_ns = 0;
  double free_p99_ns = 0;
  std::size_t events = 0;  // block events replayed

  std::int64_t segment_calls() const { return segment_allocs + segment_frees; }

  double reserved_over_bound() const {
    return lower_bound > 0 ? static_cast<double>(peak_reserved) / lower_bound : 0.0;
  }
};

// Throws tally::Error naming the event for a trace that frees or retags a block it never
// allocated, and for a strategy that breaks reserved = allocated + cached free bytes, which is
// checked after every event. Device memory is unlimited unless the configuration's limit or the
// capacity say otherwise: an allocation past either raises OutOfMemoryError as a device would.
// The configuration's `record` is ignored: a replay records nothing.
ReplayResult replay(const Trace& trace, const AllocatorConfig& config,
                    std::size_t capacity = std::size_t{1} << 46);
ReplayResult replay(const Trace& trace, const std::string& strategy,
                    const StrategyOptions& options = {},
                    std::size_t capacity = std::size_t{1} << 46);

}  // namespace tally
