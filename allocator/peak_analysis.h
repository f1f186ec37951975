// What was live at the moment of peak allocated memory, reconstructed from a trace: the totals,
// the breakdown by tag and by scope, and where the program was (phase, scope) when it peaked.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "allocator/event.h"
#include "allocator/tag.h"

namespace tally {

struct TagBytes {
  std::int64_t requested = 0;
  std::int64_t allocated = 0;
};

struct PeakSnapshot {
  bool found = false;         // false for a trace with no allocations
  std::uint64_t seq = 0;      // the alloc event that reached the peak
  Phase phase = Phase::none;  // its phase and scope
  std::string scope;
  std::int64_t allocated = 0;  // totals at that moment
  std::int64_t requested = 0;
  std::int64_t reserved = 0;
  std::int64_t peak_reserved = 0;  // over the whole trace (may come at another moment)
  std::array<TagBytes, kTagCount> by_tag{};
  // Allocated bytes live at the peak per allocating scope, largest first ("" = no scope).
  std::vector<std::pair<std::string, std::int64_t>> by_scope;
};

// Replays the trace's events of device `device` (an index into trace.devices). The peak is the
// first event at which allocated bytes reach their maximum.
PeakSnapshot find_peak(const Trace& trace, std::uint16_t device = 0);

}  // namespace tally
