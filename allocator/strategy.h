// How blocks are handed out from segments. Strategies are small, pluggable by name, and know
// nothing of tags, statistics or recording: the DeviceAllocator above them does that.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tally {

using StreamId = std::uint64_t;

// The segments a strategy may draw on: the DeviceAllocator's accounted, limited view of its
// Backing. acquire returns nullptr when the backing or the memory limit refuses.
class SegmentSource {
 public:
  virtual void* acquire(std::size_t bytes) = 0;
  virtual void release(void* base, std::size_t bytes) = 0;
  // Address space, and pages (Backing::kPage) mapped into it, for strategies that grow a
  // segment in place. reserve_address returns nullptr when the address space is exhausted; a
  // mapped page counts in reserved like a segment of its own. map_page returns false when the
  // backing or the limit refuses.
  virtual void* reserve_address(std::size_t bytes) = 0;
  virtual void release_address(void* base, std::size_t bytes) = 0;
  virtual bool map_page(void* at) = 0;
  virtual void unmap_page(void* at) = 0;
  // Bytes held from the backing, and the most it may hold (the limit or the capacity).
  virtual std::size_t reserved() const = 0;
  virtual std::size_t limit() const = 0;

 protected:
  ~SegmentSource() = default;
};

// A block handed out by a strategy. `handle` is the strategy's own reference to it, given back
// at deallocate so that no lookup by address is needed. A null `ptr` means no block: cheaper
// than an optional, whose flag shares a word with `handle` and stalls store forwarding.
struct Block {
  void* ptr = nullptr;
  std::size_t size = 0;
  std::uint32_t handle = 0;

  explicit operator bool() const { return ptr != nullptr; }
};

// What a strategy holds besides its live blocks.
struct CacheState {
  std::size_t free_bytes = 0;            // free bytes inside held segments
  std::size_t inactive_split_bytes = 0;  // free bytes inside segments that are partly in use
  std::size_t inactive_split_blocks = 0;
};

class Strategy {
 public:
  virtual ~Strategy() = default;

  virtual std::string_view name() const = 0;
  // A request of `bytes` rounded to the strategy's granularity: the smallest block it can get
  // (caching may hand out more when the rest of a block is too small to split off).
  virtual std::size_t block_size(std::size_t bytes) const = 0;
  // An empty Block when no held memory fits and the source refused a new segment.
  virtual Block allocate(std::size_t bytes, StreamId stream) = 0;
  virtual void deallocate(const Block& block) = 0;
  // Returns every segment that holds no live block to the source.
  virtual void release_cached() = 0;
  // Kept current by the strategy; read after every call.
  const CacheState& cache_state() const { return state_; }
  // The largest free block held (O(number of free blocks); for error messages).
  virtual std::size_t largest_free_block() const = 0;

 protected:
  CacheState state_;
};

struct StrategyOptions {
  // caching, expandable: requests at least this large never split a block; smaller requests
  // never take a cached block of at least this size (PyTorch's max_split_size).
  std::size_t max_split_size = SIZE_MAX;
  // caching, expandable: PyTorch's roundup_power2_divisions, one entry per power-of-two
  // interval of the request size: [0] below 2 MiB, [i] from 2^i MiB, [15] from 32 GiB. 0 or 1
  // keeps plain 512-byte rounding.
  std::array<std::uint32_t, 16> roundup_power2_divisions{};
  // caching, expandable: PyTorch's garbage_collection_threshold, a fraction of the memory limit
  // in (0, 1): above it, cached segments are returned oldest-used first before a new one is
  // taken. 0 is off.
  double garbage_collection_threshold = 0;
  // binning: the strategy that serves requests above the largest size class.
  std::string binning_fallback = "caching";
};

std::unique_ptr<Strategy> make_strategy(std::string_view name, SegmentSource& source,
                                        const StrategyOptions& options);
std::vector<std::string> strategy_names();

}  // namespace tally
