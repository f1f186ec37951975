// Best-fit caching with block splitting and coalescing, after PyTorch's CUDACachingAllocator.
#pragma once

#include <memory>
#include <set>
#include <vector>

#include "allocator/size_bins.h"
#include "allocator/slot_table.h"
#include "allocator/strategy.h"
#include "allocator/units.h"

namespace tally {

// The default rules are PyTorch's documented ones (c10/cuda/CUDACachingAllocator.cpp).
struct CachingRules {
  static constexpr std::size_t kMinBlockSize = 512;        // every request rounds up to this
  static constexpr std::size_t kSmallSize = 1 * MiB;       // largest request for the small pool
  static constexpr std::size_t kSmallBuffer = 2 * MiB;     // segment size of the small pool
  static constexpr std::size_t kLargeBuffer = 20 * MiB;    // segment for 1-10 MiB requests
  static constexpr std::size_t kMinLargeAlloc = 10 * MiB;  // from here, one segment each
  static constexpr std::size_t kRoundLarge = 2 * MiB;      // ... rounded up to this

  // 512-byte rounding, or with `divisions` of the request's power-of-two interval (PyTorch's
  // roundup_power2_divisions) the next of that many equal steps between two powers of two.
  static std::size_t round_size(std::size_t bytes, std::uint32_t divisions = 0);
  // The divisions StrategyOptions sets for a request of this size.
  static std::uint32_t divisions_for(const StrategyOptions& options, std::size_t bytes);
  static std::size_t segment_size(std::size_t rounded);
  // Whether a free block of `found` bytes, the best fit, may serve a request of `size`: oversize
  // blocks (max_split_size and up) are kept whole for oversize requests, and not wasted on much
  // smaller ones.
  static bool may_take(std::size_t size, std::size_t found, std::size_t max_split) {
    if (size < max_split) return found < max_split;
    return found < size + kLargeBuffer;
  }
};

class CachingStrategy final : public Strategy {
 public:
  CachingStrategy(SegmentSource& source, const StrategyOptions& options);
  ~CachingStrategy() override;

  std::string_view name() const override { return "caching"; }
  std::size_t block_size(std::size_t bytes) const override;
  Block allocate(std::size_t bytes, StreamId stream) override;
  void deallocate(const Block& block) override;
  void release_cached() override;
  std::size_t largest_free_block() const override;

 private:
  static constexpr std::uint32_t kNone = UINT32_MAX;

  // A block of a segment. Blocks of one segment form an address-ordered list (prev/next).
  //
  // Among free blocks of equal size the oldest segment's lowest block is taken, and cached
  // segments are released oldest first: PyTorch breaks such ties by address, but addresses are
  // the backing's choice, and a sim device must make the same choices as the device it mimics.
  // `segment` numbers segments in the order they were acquired (a wrap after 2^32 segments
  // would only change tie-breaks); `offset` is a small block's place in its 2 MiB segment.
  struct Node {
    std::uintptr_t addr;
    std::size_t size;
    std::uint32_t prev;
    std::uint32_t next;
    std::uint32_t pool;  // index into pools_: the stream the segment belongs to
    std::uint32_t segment;
    std::uint32_t offset;    // small blocks only
    std::uint32_t freed_at;  // the pool's lookup count when the block became free
    bool allocated;
    bool small;
  };
  // A small block's position: its segment's age, then its offset in the segment.
  static std::uint64_t small_order(const Node& node) {
    return (std::uint64_t{node.segment} << 21) | node.offset;
  }
  // Large free blocks ordered for best fit: smallest first, then oldest segment, then lowest
  // address within it.
  struct LargeKey {
    std::size_t size;
    std::uint32_t segment;
    std::uintptr_t addr;
    std::uint32_t node;
    bool operator<(const LargeKey& o) const {
      if (size != o.size) return size < o.size;
      return segment != o.segment ? segment < o.segment : addr < o.addr;
    }
  };
  // The free blocks of one stream. Small blocks are binned by exact size (every small block is
  // a multiple of 512 B up to 2 MiB); large ones, whose sizes are unbounded, live in a tree.
  struct StreamPools {
    StreamId stream;
    SizeBins small{CachingRules::kMinBlockSize,
                   CachingRules::kSmallBuffer / CachingRules::kMinBlockSize};
    std::set<LargeKey> large;
  };

  std::uint32_t pool_index(StreamId stream);
  // The free block that best fits, or kNone.
  std::uint32_t find_free(const StreamPools& pools, bool small, std::size_t size) const;
  bool should_split(const Node& node, std::size_t size) const;
  void pool_insert(std::uint32_t id);
  void pool_erase(std::uint32_t id);
  void absorb(std::uint32_t id, std::uint32_t neighbour);
  void release_segment(std::uint32_t id);
  // PyTorch's garbage_collection_threshold: while reserved is above the threshold, returns the
  // free large segments whose age is at least the average age.
  void collect_garbage();

  SegmentSource& source_;
  StrategyOptions options_;
  std::vector<std::unique_ptr<StreamPools>> pools_;  // a handful of streams: searched linearly
  StreamId last_stream_ = 0;                         // ... after the last one asked for
  std::uint32_t last_pool_ = kNone;
  SlotTable<Node> nodes_;
  std::uint32_t segments_acquired_ = 0;
  std::uint32_t large_lookups_ = 0;  // a free large block's age is counted in these, as in PyTorch
};

}  // namespace tally
