// Segment bookkeeping shared by the strategies that carve whole segments (buddy, binning,
// arena): a table of held segments by slot, the streams seen so far, and the inactive-split
// share of a segment.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "allocator/slot_table.h"
#include "allocator/strategy.h"

namespace tally {

// Held segments by slot. A slot is what a strategy puts in a Block's `handle`, so that a free
// finds its segment in O(1); released slots are reused. `Segment` has members `age` (set here:
// the order of acquisition, the tie-break that does not depend on the backing's addresses) and
// `held`.
template <typename Segment>
class SegmentTable {
 public:
  std::uint32_t add(Segment segment) {
    segment.age = acquired_++;
    segment.held = true;
    return segments_.add(segment);
  }
  void remove(std::uint32_t slot) {
    segments_[slot].held = false;
    segments_.remove(slot);
  }
  Segment& operator[](std::uint32_t slot) { return segments_[slot]; }
  const Segment& operator[](std::uint32_t slot) const { return segments_[slot]; }
  // A check on a Block's handle before it is trusted.
  bool holds(std::uint32_t slot) const { return slot < segments_.size() && segments_[slot].held; }

  // Slots of the held segments that satisfy `pick`, oldest first: the order in which cached
  // segments are released, so that segment_free events do not depend on addresses. A scan of
  // every segment, for release_cached only.
  template <typename Pick>
  std::vector<std::uint32_t> oldest_first(Pick pick) const {
    std::vector<std::uint32_t> slots;
    for (std::uint32_t slot = 0; slot < segments_.size(); ++slot) {
      if (segments_[slot].held && pick(segments_[slot])) slots.push_back(slot);
    }
    std::sort(slots.begin(), slots.end(), [this](std::uint32_t a, std::uint32_t b) {
      return segments_[a].age < segments_[b].age;
    });
    return slots;
  }

 private:
  SlotTable<Segment> segments_;
  std::uint32_t acquired_ = 0;  // a wrap after 2^32 segments would only change tie-breaks
};

// Dense indices for the streams a strategy has been asked for: a handful, searched linearly
// after a check of the last one asked for.
class StreamIndex {
 public:
  // The stream's index; a stream seen for the first time gets the next one, size() - 1.
  std::uint32_t of(StreamId stream) {
    if (last_ < streams_.size() && streams_[last_] == stream) return last_;
    std::uint32_t i = 0;
    while (i < streams_.size() && streams_[i] != stream) ++i;
    if (i == streams_.size()) streams_.push_back(stream);
    last_ = i;
    return i;
  }
  std::size_t size() const { return streams_.size(); }

 private:
  std::vector<StreamId> streams_;
  std::uint32_t last_ = 0;
};

// While any block of a segment is live, its free bytes and blocks are inactive split. A
// strategy takes a segment's share out (add = false) before it changes the segment and puts it
// back (add = true) after.
inline void count_inactive_split(CacheState& state, bool in_use, std::size_t free_bytes,
                                 std::size_t free_blocks, bool add) {
  if (!in_use) return;
  if (add) {
    state.inactive_split_bytes += free_bytes;
    state.inactive_split_blocks += free_blocks;
  } else {
    state.inactive_split_bytes -= free_bytes;
    state.inactive_split_blocks -= free_blocks;
  }
}

}  // namespace tally
