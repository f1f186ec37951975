#include "allocator/arena_strategy.h"

#include <algorithm>

#include "allocator/error.h"

namespace tally {

// Segments still cached go back to the source; the DeviceAllocator frees live blocks first.
ArenaStrategy::~ArenaStrategy() {
  release_cached();
}

std::size_t ArenaStrategy::block_size(std::size_t bytes) const {
  return kAlignment * std::max<std::size_t>(1, (bytes + kAlignment - 1) / kAlignment);
}

// A segment in use holds, besides its live blocks, the holes freed since its reset and its
// unused tail.
void ArenaStrategy::count_split(const Segment& segment, bool add) {
  count_inactive_split(state_, segment.live > 0, segment.size - segment.live_bytes,
                       segment.freed + (segment.top < segment.size ? 1 : 0), add);
}

Block ArenaStrategy::bump(std::uint32_t slot, std::size_t size) {
  Segment& segment = segments_[slot];
  count_split(segment, false);
  const std::uintptr_t address = segment.base + segment.top;
  segment.top += size;
  segment.live_bytes += size;
  ++segment.live;
  state_.free_bytes -= size;
  count_split(segment, true);
  return Block{reinterpret_cast<void*>(address), size, slot};
}

Block ArenaStrategy::allocate(std::size_t bytes, StreamId stream) {
  const std::size_t size = block_size(bytes);
  const std::uint32_t p = streams_.of(stream);
  if (p == pools_.size()) pools_.emplace_back();
  Pool& pool = pools_[p];
  if (pool.current != kNone) {
    const Segment& current = segments_[pool.current];
    if (current.size - current.top >= size) return bump(pool.current, size);
  }
  // The current segment is full: an empty one takes over, else a new one.
  std::uint32_t slot;
  if (const auto it = pool.empty.lower_bound(EmptyKey{size, 0, 0}); it != pool.empty.end()) {
    slot = it->slot;
    pool.empty.erase(it);
  } else {
    const std::size_t segment_size =
        std::max(kMinSegment, kSegmentRound * ((size + kSegmentRound - 1) / kSegmentRound));
    void* base = source_.acquire(segment_size);
    if (base == nullptr) return {};
    slot = segments_.add(
        Segment{reinterpret_cast<std::uintptr_t>(base), segment_size, 0, 0, 0, 0, p, 0, false});
    state_.free_bytes += segment_size;
  }
  // The old current segment waits for its reset, or, already empty, joins the empty ones.
  if (pool.current != kNone && segments_[pool.current].live == 0) {
    const Segment& old = segments_[pool.current];
    pool.empty.insert(EmptyKey{old.size, old.age, pool.current});
  }
  pool.current = slot;
  return bump(slot, size);
}

void ArenaStrategy::deallocate(const Block& block) {
  const std::uint32_t slot = block.handle;
  TALLY_CHECK(segments_.holds(slot) && segments_[slot].live > 0 &&
                  reinterpret_cast<std::uintptr_t>(block.ptr) >= segments_[slot].base &&
                  reinterpret_cast<std::uintptr_t>(block.ptr) + block.size <=
                      segments_[slot].base + segments_[slot].top,
              "block freed that the arena strategy did not hand out");
  Segment& segment = segments_[slot];
  count_split(segment, false);
  --segment.live;
  segment.live_bytes -= block.size;
  // The last block bumped gives its bytes back to the bump pointer: stack-like lifetimes, and a
  // step's short-lived temporaries, leave no holes.
  if (reinterpret_cast<std::uintptr_t>(block.ptr) + block.size == segment.base + segment.top) {
    segment.top -= block.size;
  } else {
    ++segment.freed;
  }
  state_.free_bytes += block.size;
  if (segment.live == 0) {
    segment.top = 0;
    segment.freed = 0;
    Pool& pool = pools_[segment.pool];
    if (pool.current != slot) pool.empty.insert(EmptyKey{segment.size, segment.age, slot});
  }
  count_split(segment, true);
}

void ArenaStrategy::release_cached() {
  for (const std::uint32_t slot :
       segments_.oldest_first([](const Segment& s) { return s.live == 0; })) {
    const Segment& segment = segments_[slot];
    Pool& pool = pools_[segment.pool];
    if (pool.current == slot) {
      pool.current = kNone;
    } else {
      pool.empty.erase(EmptyKey{segment.size, segment.age, slot});
    }
    state_.free_bytes -= segment.size;
    source_.release(reinterpret_cast<void*>(segment.base), segment.size);
    segments_.remove(slot);
  }
}

std::size_t ArenaStrategy::largest_free_block() const {
  std::size_t largest = 0;
  for (const Pool& pool : pools_) {
    if (pool.current != kNone) {
      largest = std::max(largest, segments_[pool.current].size - segments_[pool.current].top);
    }
    if (!pool.empty.empty()) largest = std::max(largest, pool.empty.rbegin()->size);
  }
  return largest;
}

}  // namespace tally
