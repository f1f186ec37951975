// The best a static plan could do for a trace: every block's lifetime is known in advance, so all
// of them can be packed into one arena at fixed offsets, as ggml's graph allocator or TFLite's
// arena planner pack a graph's tensors. Greedy by size (TFLite's "greedy by size"): blocks in
// decreasing size, each at the lowest offset that overlaps no already placed block whose lifetime
// intersects its own. Next to the trace's lower bound (the most requested bytes live at once),
// the arena says how much of a strategy's excess no allocator that decides online could avoid.
#pragma once

#include <cstdint>
#include <vector>

#include "allocator/event.h"

namespace tally {

struct PlannedBlock {
  std::int64_t offset = 0;
  std::int64_t size = 0;    // requested bytes rounded up to the plan's alignment
  std::uint64_t first = 0;  // index of its alloc event among the device's block events
  std::uint64_t last = 0;   // index of its free event; one past the last event if never freed
};

struct OfflinePlan {
  std::int64_t arena_bytes = 0;      // the end of the highest placed block
  std::int64_t lower_bound = 0;      // the most requested bytes live at once, unrounded
  std::vector<PlannedBlock> blocks;  // in the order of their alloc events
};

// Plans the alloc and free events of device `device` (an index into trace.devices); retag,
// segment and oom events are ignored. Sizes are rounded up to `alignment` bytes (a power of two;
// 256 is cudaMalloc's). A free or an alloc of an address that is not allocated, or one that
// is, throws tally::DataError naming the event.
OfflinePlan plan_offline(const Trace& trace, std::uint16_t device = 0,
                         std::int64_t alignment = 256);

}  // namespace tally
