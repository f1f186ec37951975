// The allocator's statistics, with the names and meaning of PyTorch's memory_stats().
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "allocator/tag.h"

namespace tally {

// One quantity: its current value, its peak since the last reset, and the cumulative amounts
// added and removed (so current == allocated - freed).
struct Stat {
  std::int64_t current = 0;
  std::int64_t peak = 0;
  std::int64_t allocated = 0;
  std::int64_t freed = 0;

  void increase(std::int64_t amount) {
    current += amount;
    allocated += amount;
    if (current > peak) peak = current;
  }
  void decrease(std::int64_t amount) {
    current -= amount;
    freed += amount;
  }
  // Moves current to `value`, as an increase or a decrease.
  void set(std::int64_t value) {
    if (value >= current) {
      increase(value - current);
    } else {
      decrease(current - value);
    }
  }
  void reset_peak() { peak = current; }
};

// What live blocks account for, for one tag or for all of them.
struct BlockStats {
  Stat requested_bytes;  // what callers asked for
  Stat allocated_bytes;  // block sizes handed out, after rounding
  Stat active_bytes;     // blocks not yet reusable: allocated ones and frees pending on streams
  Stat allocation;       // number of allocated blocks
  Stat active;           // number of active blocks
};

struct AllocatorStats {
  BlockStats total;
  std::array<BlockStats, kTagCount> by_tag;
  Stat reserved_bytes;                 // segments held from the backing
  Stat segment;                        // number of segments held
  Stat inactive_split_bytes;           // free bytes inside segments that are partly in use
  Stat inactive_split;                 // number of such free blocks
  std::int64_t num_alloc_retries = 0;  // allocations that emptied the cache and tried again
  std::int64_t num_ooms = 0;           // allocations that failed after the retry
  std::int64_t num_retags = 0;

  const BlockStats& of(Tag tag) const { return by_tag[index_of(tag)]; }
  void reset_peak();
};

// A plain-text table of the statistics, in the spirit of torch.cuda.memory_summary().
std::string format_stats(const AllocatorStats& stats);

}  // namespace tally
