// Power-of-two blocks with buddy merging (Knuth's buddy system): a request takes the next power
// of two, split in halves from a larger free block; a freed block merges with its free buddy,
// level by level, up to its segment.
#pragma once

#include <array>
#include <compare>
#include <memory>
#include <set>
#include <vector>

#include "allocator/segment_table.h"
#include "allocator/strategy.h"

namespace tally {

class BuddyStrategy final : public Strategy {
 public:
  static constexpr unsigned kMinOrder = 9;    // 512 B, the smallest block
  static constexpr unsigned kRootOrder = 21;  // 2 MiB, the smallest segment

  explicit BuddyStrategy(SegmentSource& source) : source_(source) {}
  ~BuddyStrategy() override;

  std::string_view name() const override { return "buddy"; }
  // The next power of two, at least 512 B.
  std::size_t block_size(std::size_t bytes) const override;
  Block allocate(std::size_t bytes, StreamId stream) override;
  void deallocate(const Block& block) override;
  void release_cached() override;
  std::size_t largest_free_block() const override;

 private:
  // A buddy root: max(2 MiB, the request's block), a power of two. Blocks of different streams
  // never share one.
  struct Segment {
    std::uintptr_t base;
    std::size_t used;         // bytes in live blocks
    std::size_t free_blocks;  // blocks on the free lists
    std::uint32_t pool;
    std::uint32_t age;
    unsigned order;
    bool held;
  };
  // A free block: its segment's age, then its offset, is the order in which equal blocks are
  // taken.
  struct FreeKey {
    std::uint32_t age;
    std::size_t offset;
    std::uint32_t slot;
    auto operator<=>(const FreeKey&) const = default;
  };
  // The free blocks of one stream, one list per order.
  struct Pool {
    std::array<std::set<FreeKey>, 64> free;
    std::uint64_t orders = 0;  // bit k: free[k] is not empty
  };

  void put(Pool& pool, unsigned order, const FreeKey& key);
  void take(Pool& pool, unsigned order, const FreeKey& key);
  void count_split(const Segment& segment, bool add);

  SegmentSource& source_;
  SegmentTable<Segment> segments_;
  StreamIndex streams_;
  std::vector<std::unique_ptr<Pool>> pools_;
};

}  // namespace tally
