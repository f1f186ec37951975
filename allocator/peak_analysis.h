// What was live at the moment of peak allocated memory, reconstructed from a trace: the totals,
// the breakdown by tag and by scope, and where the program was (phase, scope) when it peaked.
// A peak can be taken over a range of events, so that a training run's steps and its evaluation
// each have their own.
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
  bool found = false;         // false when the events taken hold no allocation
  std::uint64_t seq = 0;      // the alloc event that reached the peak
  Phase phase = Phase::none;  // its phase and scope
  std::string scope;
  std::int64_t allocated = 0;  // totals at that moment: `allocated` is the allocated peak
  std::int64_t requested = 0;
  std::int64_t reserved = 0;
  // The highest requested and reserved totals at the events taken, each at its own moment.
  std::int64_t peak_requested = 0;
  std::int64_t peak_reserved = 0;
  std::array<TagBytes, kTagCount> by_tag{};
  // Allocated bytes live at the peak per allocating scope, largest first ("" = no scope).
  std::vector<std::pair<std::string, std::int64_t>> by_scope;
};

// The events a peak is taken at: those numbered (seq) from `first` up to, not including, `end`.
struct EventRange {
  std::uint64_t first = 0;
  std::uint64_t end = UINT64_MAX;
  bool holds(std::uint64_t seq) const { return seq >= first && seq < end; }
};

// Replays the trace's events of device `device` (an index into trace.devices) and takes the
// totals after each event in `range`: what earlier events left allocated and reserved counts,
// since it is still held then. The peak is the first such event at which allocated bytes reach
// their maximum.
PeakSnapshot find_peak(const Trace& trace, std::uint16_t device = 0, EventRange range = {});

// A training run's peaks taken apart. `training`: the events before evaluation (the whole trace
// when there is none). `evaluation`: from the first event of phase eval to its last, so that its
// allocated peak holds the model and optimizer state, and its reserved peak the segments
// training left cached; not found when the run did not evaluate.
struct RunPeaks {
  PeakSnapshot training;
  PeakSnapshot evaluation;
};
RunPeaks find_run_peaks(const Trace& trace, std::uint16_t device = 0);

}  // namespace tally
