#include "allocator/buddy_strategy.h"

#include <algorithm>
#include <bit>

#include "allocator/error.h"

namespace tally {

// Segments still cached go back to the source; the DeviceAllocator frees live blocks first.
BuddyStrategy::~BuddyStrategy() {
  release_cached();
}

std::size_t BuddyStrategy::block_size(std::size_t bytes) const {
  TALLY_CHECK(bytes <= std::size_t{1} << 63, "request too large for a power-of-two block");
  return std::bit_ceil(std::max(bytes, std::size_t{1} << kMinOrder));
}

void BuddyStrategy::put(Pool& pool, unsigned order, const FreeKey& key) {
  pool.free[order].insert(key);
  pool.orders |= std::uint64_t{1} << order;
  ++segments_[key.slot].free_blocks;
}

void BuddyStrategy::take(Pool& pool, unsigned order, const FreeKey& key) {
  pool.free[order].erase(key);
  if (pool.free[order].empty()) pool.orders &= ~(std::uint64_t{1} << order);
  --segments_[key.slot].free_blocks;
}

void BuddyStrategy::count_split(const Segment& segment, bool add) {
  count_inactive_split(state_, segment.used > 0, (std::size_t{1} << segment.order) - segment.used,
                       segment.free_blocks, add);
}

Block BuddyStrategy::allocate(std::size_t bytes, StreamId stream) {
  const auto order = static_cast<unsigned>(std::countr_zero(block_size(bytes)));
  const std::uint32_t p = streams_.of(stream);
  if (p == pools_.size()) pools_.push_back(std::make_unique<Pool>());
  Pool& pool = *pools_[p];

  // The smallest free block that fits; among equal ones the oldest segment's lowest.
  const std::uint64_t fits = pool.orders & (~std::uint64_t{0} << order);
  unsigned found;
  FreeKey key;
  if (fits != 0) {
    found = static_cast<unsigned>(std::countr_zero(fits));
    key = *pool.free[found].begin();
    count_split(segments_[key.slot], false);
    take(pool, found, key);
  } else {
    found = std::max(order, kRootOrder);
    void* base = source_.acquire(std::size_t{1} << found);
    if (base == nullptr) return {};
    const std::uint32_t slot =
        segments_.add(Segment{reinterpret_cast<std::uintptr_t>(base), 0, 0, p, 0, found, false});
    key = FreeKey{segments_[slot].age, 0, slot};
    state_.free_bytes += std::size_t{1} << found;
  }
  // Halve down to the request, the upper half of each split staying free.
  while (found > order) {
    --found;
    put(pool, found, FreeKey{key.age, key.offset + (std::size_t{1} << found), key.slot});
  }
  Segment& segment = segments_[key.slot];
  segment.used += std::size_t{1} << order;
  state_.free_bytes -= std::size_t{1} << order;
  count_split(segment, true);
  return Block{reinterpret_cast<void*>(segment.base + key.offset), std::size_t{1} << order,
               key.slot};
}

void BuddyStrategy::deallocate(const Block& block) {
  const std::uint32_t slot = block.handle;
  TALLY_CHECK(segments_.holds(slot) && std::has_single_bit(block.size) &&
                  reinterpret_cast<std::uintptr_t>(block.ptr) >= segments_[slot].base,
              "block freed that the buddy strategy did not hand out");
  Segment& segment = segments_[slot];
  Pool& pool = *pools_[segment.pool];
  std::size_t offset = reinterpret_cast<std::uintptr_t>(block.ptr) - segment.base;
  auto order = static_cast<unsigned>(std::countr_zero(block.size));
  TALLY_CHECK(order <= segment.order && offset % block.size == 0 &&
                  offset < (std::size_t{1} << segment.order),
              "block freed that the buddy strategy did not hand out");
  count_split(segment, false);
  segment.used -= block.size;
  state_.free_bytes += block.size;
  // A block's buddy is the other half of their parent: the offset with the order's bit flipped.
  while (order < segment.order) {
    const FreeKey buddy{segment.age, offset ^ (std::size_t{1} << order), slot};
    if (!pool.free[order].contains(buddy)) break;
    take(pool, order, buddy);
    offset &= ~(std::size_t{1} << order);
    ++order;
  }
  put(pool, order, FreeKey{segment.age, offset, slot});
  count_split(segment, true);
}

void BuddyStrategy::release_cached() {
  for (const std::uint32_t slot :
       segments_.oldest_first([](const Segment& s) { return s.used == 0; })) {
    const Segment& segment = segments_[slot];
    take(*pools_[segment.pool], segment.order, FreeKey{segment.age, 0, slot});
    state_.free_bytes -= std::size_t{1} << segment.order;
    source_.release(reinterpret_cast<void*>(segment.base), std::size_t{1} << segment.order);
    segments_.remove(slot);
  }
}

std::size_t BuddyStrategy::largest_free_block() const {
  std::uint64_t orders = 0;
  for (const auto& pool : pools_) orders |= pool->orders;
  return orders == 0 ? 0 : std::size_t{1} << (63 - std::countl_zero(orders));
}

}  // namespace tally
