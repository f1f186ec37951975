#include "allocator/binning_strategy.h"

#include <algorithm>
#include <bit>

#include "allocator/error.h"

namespace tally {

BinningStrategy::BinningStrategy(SegmentSource& source, const StrategyOptions& options)
    : source_(source) {
  if (options.binning_fallback == "binning") {
    throw UsageError("binning cannot be its own fallback: choose another strategy");
  }
  fallback_ = make_strategy(options.binning_fallback, source, options);
}

// Slabs still cached go back to the source; the fallback returns its own segments.
BinningStrategy::~BinningStrategy() {
  release_cached();
}

std::size_t BinningStrategy::block_size(std::size_t bytes) const {
  if (bytes > std::size_t{1} << kMaxClass) return fallback_->block_size(bytes);
  return std::bit_ceil(std::max(bytes, std::size_t{1} << kMinClass));
}

void BinningStrategy::sync_state() {
  const CacheState& other = fallback_->cache_state();
  state_.free_bytes = bins_.free_bytes + other.free_bytes;
  state_.inactive_split_bytes = bins_.inactive_split_bytes + other.inactive_split_bytes;
  state_.inactive_split_blocks = bins_.inactive_split_blocks + other.inactive_split_blocks;
}

BinningStrategy::Slab BinningStrategy::new_slab(std::uintptr_t base, std::uint32_t pool,
                                                unsigned size_class) const {
  Slab slab{base, {}, 0, 0, pool, 0, size_class, false};
  const std::uint32_t blocks = slab.blocks();
  for (std::uint32_t w = 0; w * 64 < blocks; ++w) {
    slab.free[w] =
        blocks - w * 64 >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << (blocks - w * 64)) - 1;
    slab.summary |= std::uint64_t{1} << w;
  }
  return slab;
}

void BinningStrategy::count_split(const Slab& slab, bool add) {
  const std::size_t free_blocks = slab.blocks() - slab.live;
  count_inactive_split(bins_, slab.live > 0, free_blocks << slab.size_class, free_blocks, add);
}

Block BinningStrategy::allocate(std::size_t bytes, StreamId stream) {
  if (bytes > std::size_t{1} << kMaxClass) {
    const Block block = fallback_->allocate(bytes, stream);
    sync_state();
    return block;
  }
  const auto size_class = static_cast<unsigned>(std::countr_zero(block_size(bytes)));
  const std::uint32_t p = streams_.of(stream);
  if (p == pools_.size()) pools_.emplace_back();
  OpenSlabs& open = pools_[p].open[size_class - kMinClass];

  std::uint32_t slot;
  if (!open.empty()) {
    slot = open.begin()->second;
  } else {
    void* base = source_.acquire(kSlabSize);
    if (base == nullptr) return {};
    slot = slabs_.add(new_slab(reinterpret_cast<std::uintptr_t>(base), p, size_class));
    open.emplace(slabs_[slot].age, slot);
    bins_.free_bytes += kSlabSize;
  }
  Slab& slab = slabs_[slot];
  count_split(slab, false);
  const auto w = static_cast<std::uint32_t>(std::countr_zero(slab.summary));
  const auto index = w * 64 + static_cast<std::uint32_t>(std::countr_zero(slab.free[w]));
  slab.free[w] &= slab.free[w] - 1;
  if (slab.free[w] == 0) slab.summary &= ~(std::uint64_t{1} << w);
  if (++slab.live == slab.blocks()) open.erase({slab.age, slot});
  bins_.free_bytes -= std::size_t{1} << size_class;
  count_split(slab, true);
  sync_state();
  return Block{reinterpret_cast<void*>(slab.base + (std::size_t{index} << size_class)),
               std::size_t{1} << size_class, slot};
}

// Class blocks are at most 1 MiB and the fallback's larger, so the size tells whose a block is.
void BinningStrategy::deallocate(const Block& block) {
  if (block.size > std::size_t{1} << kMaxClass) {
    fallback_->deallocate(block);
    sync_state();
    return;
  }
  const std::uint32_t slot = block.handle;
  TALLY_CHECK(slabs_.holds(slot) && block.size == std::size_t{1} << slabs_[slot].size_class &&
                  reinterpret_cast<std::uintptr_t>(block.ptr) >= slabs_[slot].base,
              "block freed that the binning strategy did not hand out");
  Slab& slab = slabs_[slot];
  const std::size_t index =
      (reinterpret_cast<std::uintptr_t>(block.ptr) - slab.base) >> slab.size_class;
  const std::uint64_t bit = std::uint64_t{1} << (index % 64);
  TALLY_CHECK(index < slab.blocks() && (slab.free[index / 64] & bit) == 0,
              "block freed that the binning strategy did not hand out");
  count_split(slab, false);
  if (slab.live-- == slab.blocks()) {
    pools_[slab.pool].open[slab.size_class - kMinClass].emplace(slab.age, slot);
  }
  slab.free[index / 64] |= bit;
  slab.summary |= std::uint64_t{1} << (index / 64);
  bins_.free_bytes += block.size;
  count_split(slab, true);
  sync_state();
}

void BinningStrategy::release_cached() {
  for (const std::uint32_t slot : slabs_.oldest_first([](const Slab& s) { return s.live == 0; })) {
    const Slab& slab = slabs_[slot];
    pools_[slab.pool].open[slab.size_class - kMinClass].erase({slab.age, slot});
    bins_.free_bytes -= kSlabSize;
    source_.release(reinterpret_cast<void*>(slab.base), kSlabSize);
    slabs_.remove(slot);
  }
  fallback_->release_cached();
  sync_state();
}

// The largest class with a free block, or the fallback's largest.
std::size_t BinningStrategy::largest_free_block() const {
  std::size_t largest = fallback_->largest_free_block();
  for (const Pool& pool : pools_) {
    for (unsigned c = 0; c < kClasses; ++c) {
      if (!pool.open[c].empty()) largest = std::max(largest, std::size_t{1} << (kMinClass + c));
    }
  }
  return largest;
}

}  // namespace tally
