// Best-fit caching with block splitting and coalescing, after PyTorch's CUDACachingAllocator.
#pragma once

#include <memory_resource>
#include <set>
#include <vector>

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

  static std::size_t round_size(std::size_t bytes);
  static std::size_t segment_size(std::size_t rounded);
};

class CachingStrategy final : public Strategy {
 public:
  CachingStrategy(SegmentSource& source, const StrategyOptions& options);
  ~CachingStrategy() override;

  std::string_view name() const override { return "caching"; }
  std::size_t block_size(std::size_t bytes) const override;
  std::optional<Block> allocate(std::size_t bytes, StreamId stream) override;
  void deallocate(const Block& block) override;
  void release_cached() override;
  CacheState cache_state() const override { return state_; }
  std::size_t largest_free_block() const override;

 private:
  static constexpr std::uint32_t kNone = UINT32_MAX;

  // A block of a segment. Blocks of one segment form an address-ordered list (prev/next).
  struct Node {
    std::uintptr_t addr;
    std::size_t size;
    StreamId stream;
    std::uint32_t prev;
    std::uint32_t next;
    bool allocated;
    bool small;
  };
  // Free blocks ordered for best fit: smallest block of the stream that is large enough,
  // lowest address first among equals.
  struct FreeKey {
    StreamId stream;
    std::size_t size;
    std::uintptr_t addr;
    std::uint32_t node;
    bool operator<(const FreeKey& other) const {
      if (stream != other.stream) return stream < other.stream;
      if (size != other.size) return size < other.size;
      return addr < other.addr;
    }
  };
  using FreeSet = std::pmr::set<FreeKey>;

  FreeSet& pool_of(const Node& node) { return node.small ? small_free_ : large_free_; }
  std::optional<std::uint32_t> find_free(bool small, std::size_t size, StreamId stream) const;
  bool should_split(const Node& node, std::size_t size) const;
  std::uint32_t new_node(const Node& node);
  void pool_insert(std::uint32_t id);
  void pool_erase(std::uint32_t id);
  void absorb(std::uint32_t id, std::uint32_t neighbour);

  SegmentSource& source_;
  StrategyOptions options_;
  // Set nodes come from a pool, so steady-state allocation does not call malloc.
  std::pmr::unsynchronized_pool_resource set_memory_;
  FreeSet small_free_{&set_memory_};
  FreeSet large_free_{&set_memory_};
  std::vector<Node> nodes_;
  std::vector<std::uint32_t> spare_nodes_;
  CacheState state_;
};

}  // namespace tally
