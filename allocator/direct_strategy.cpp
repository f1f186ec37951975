#include "allocator/direct_strategy.h"

#include "allocator/caching_strategy.h"

namespace tally {

std::size_t DirectStrategy::block_size(std::size_t bytes) const {
  return CachingRules::round_size(bytes);
}

Block DirectStrategy::allocate(std::size_t bytes, StreamId) {
  const std::size_t size = block_size(bytes);
  void* base = source_.acquire(size);
  if (base == nullptr) return {};
  return Block{base, size, 0};
}

void DirectStrategy::deallocate(const Block& block) {
  source_.release(block.ptr, block.size);
}

}  // namespace tally
