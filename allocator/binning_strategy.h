// Size classes over a fallback, after RMM's binning_memory_resource: requests up to 1 MiB take
// a block of the next power of two from a 2 MiB slab carved into equal blocks of that class;
// larger ones go to the fallback strategy (StrategyOptions::binning_fallback, caching by
// default), over the same segment source.
#pragma once

#include <array>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "allocator/segment_table.h"
#include "allocator/strategy.h"
#include "allocator/units.h"

namespace tally {

class BinningStrategy final : public Strategy {
 public:
  static constexpr unsigned kMinClass = 9;   // 512 B
  static constexpr unsigned kMaxClass = 20;  // 1 MiB
  static constexpr std::size_t kSlabSize = 2 * MiB;

  // Throws UsageError when the fallback is unknown or is binning itself.
  BinningStrategy(SegmentSource& source, const StrategyOptions& options);
  ~BinningStrategy() override;

  std::string_view name() const override { return "binning"; }
  // The size class (the next power of two, at least 512 B) up to 1 MiB, else the fallback's.
  std::size_t block_size(std::size_t bytes) const override;
  Block allocate(std::size_t bytes, StreamId stream) override;
  void deallocate(const Block& block) override;
  void release_cached() override;
  std::size_t largest_free_block() const override;

 private:
  static constexpr unsigned kClasses = kMaxClass - kMinClass + 1;
  static constexpr std::size_t kMaxBlocks = kSlabSize >> kMinClass;

  // A slab of one stream and one class. Blocks are found by index, lowest first, in a two-level
  // bitmap of free blocks.
  struct Slab {
    std::uintptr_t base;
    std::array<std::uint64_t, kMaxBlocks / 64> free;  // bit i of word w: block 64 w + i is free
    std::uint64_t summary;                            // bit w: word w is not zero
    std::uint32_t live;
    std::uint32_t pool;
    std::uint32_t age;
    unsigned size_class;  // log2 of the block size
    bool held;

    std::uint32_t blocks() const { return static_cast<std::uint32_t>(kSlabSize >> size_class); }
  };
  // Per stream and class, the slabs with a free block, oldest first: (age, slot).
  using OpenSlabs = std::set<std::pair<std::uint32_t, std::uint32_t>>;
  struct Pool {
    std::array<OpenSlabs, kClasses> open;
  };

  Slab new_slab(std::uintptr_t base, std::uint32_t pool, unsigned size_class) const;
  void count_split(const Slab& slab, bool add);
  // state_ is the bins' own state plus the fallback's, which changes on every call to it.
  void sync_state();

  SegmentSource& source_;
  std::unique_ptr<Strategy> fallback_;
  SegmentTable<Slab> slabs_;
  StreamIndex streams_;
  std::vector<Pool> pools_;
  CacheState bins_;  // the slabs' share of state_
};

}  // namespace tally
