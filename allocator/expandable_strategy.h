// PyTorch's expandable segments (PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True): instead of
// a new segment for each miss, one reserved address range per stream and pool (small requests,
// large requests) grows by mapping 2 MiB pages at its end or into its holes, and gives fully
// free pages back by unmapping them when the cache is released. Blocks are split and coalesced
// as the caching strategy does, with its rounding and max_split_size; since a range has no
// fixed segments to waste, any remainder of at least 512 B is split off.
//
// Reserved counts mapped pages only: each mapped page is a segment event of its own in a trace.
// Differences from PyTorch, chosen for a single page size the CUDA driver guarantees: PyTorch
// maps 20 MiB at a time for the large pool, tally 2 MiB for both; garbage_collection_threshold
// does not apply (PyTorch also skips expandable blocks when it collects).
#pragma once

#include <set>
#include <vector>

#include "allocator/caching_strategy.h"
#include "allocator/size_bins.h"
#include "allocator/slot_table.h"
#include "allocator/strategy.h"

namespace tally {

class ExpandableStrategy final : public Strategy {
 public:
  ExpandableStrategy(SegmentSource& source, const StrategyOptions& options);
  // Unmaps every free page and returns the address ranges; live blocks are the owner's error.
  ~ExpandableStrategy() override;

  std::string_view name() const override { return "expandable"; }
  std::size_t block_size(std::size_t bytes) const override;
  Block allocate(std::size_t bytes, StreamId stream) override;
  void deallocate(const Block& block) override;
  // Unmaps the whole pages inside every free block.
  void release_cached() override;
  std::size_t largest_free_block() const override;

 private:
  static constexpr std::uint32_t kNone = UINT32_MAX;
  static constexpr std::size_t kBinnedBytes = 2 * MiB;
  enum class State : std::uint8_t { free, allocated, unmapped };

  // A stretch of a range, in an address-ordered list per range (prev/next). Unmapped stretches
  // start and end on page boundaries.
  struct Node {
    std::uintptr_t addr;
    std::size_t size;
    std::uint32_t prev;
    std::uint32_t next;
    std::uint32_t range;  // index into ranges_: ranges are numbered in the order reserved
    State state;
  };
  // Choices depend on a range's age and offsets within it, never on the backing's addresses,
  // so that a sim device makes the same ones as the device it mimics.
  struct Key {
    std::size_t size;  // 0 in the unmapped sets, which are ordered by place only
    std::uint32_t range;
    std::uintptr_t offset;
    std::uint32_t node;
    bool operator<(const Key& o) const {
      if (size != o.size) return size < o.size;
      return range != o.range ? range < o.range : offset < o.offset;
    }
  };
  struct Range {
    std::uintptr_t base;
    std::size_t size;
  };
  // A free block's place for the bins: its range's age, then its offset in 512 B units (every
  // block is a multiple of 512 B), so that bins and tree agree on which equal-sized block is
  // taken first.
  std::uint64_t order_of(const Node& node) const {
    return (std::uint64_t{node.range} << 44) |
           ((node.addr - ranges_[node.range].base) / CachingRules::kMinBlockSize);
  }
  // Free blocks up to one page are binned by exact size, for best fit in O(1) however many
  // holes a range has; larger ones, whose sizes are unbounded, live in a tree.
  struct Pool {
    StreamId stream;
    bool small;
    SizeBins free_small{CachingRules::kMinBlockSize, kBinnedBytes / CachingRules::kMinBlockSize};
    std::set<Key> free_large;  // best fit: smallest, then oldest range, then lowest offset
    std::set<Key> unmapped;    // lowest place first, as PyTorch looks for room to map
  };

  std::uint32_t pool_index(StreamId stream, bool small);
  Key key_of(std::uint32_t id, bool by_size) const;
  std::uint32_t find_free(const Pool& pool, std::size_t size) const;
  // Maps pages until a free block of at least `size` exists; returns it, or kNone.
  std::uint32_t grow(std::uint32_t pool, std::size_t size);
  std::uint32_t room_for(std::uint32_t pool, std::size_t size);
  std::uint32_t map_front(std::uint32_t pool, std::uint32_t id, std::size_t bytes);
  void unmap_pages(std::uint32_t pool, std::uint32_t id);
  // Turns the first `bytes` of block `id` into a new block of `state`, before it in the list.
  std::uint32_t split_front(std::uint32_t id, std::size_t bytes, State state);
  // Merges `id` with its neighbours of the same state; returns the surviving node.
  std::uint32_t coalesce(std::uint32_t pool, std::uint32_t id);
  void insert(std::uint32_t pool, std::uint32_t id);
  void erase(std::uint32_t pool, std::uint32_t id);

  SegmentSource& source_;
  StrategyOptions options_;
  std::vector<Pool> pools_;  // a handful of streams: searched linearly
  std::vector<Range> ranges_;
  std::vector<std::uint32_t> range_pool_;  // the pool each range belongs to
  SlotTable<Node> nodes_;
};

}  // namespace tally
