// The only entry point for memory: a Strategy over a Backing, with exact statistics per tag, a
// recorder, an optional memory limit, and out-of-memory handling. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "allocator/backing.h"
#include "allocator/config.h"
#include "allocator/event.h"
#include "allocator/recorder.h"
#include "allocator/spin_lock.h"
#include "allocator/stats.h"
#include "allocator/strategy.h"

namespace tally {

// A live block as its owner holds it. A zero-byte request yields an empty Allocation, which
// takes no memory and may be deallocated.
struct Allocation {
  void* ptr = nullptr;
  std::size_t requested = 0;
  std::size_t size = 0;
  std::uint32_t id = 0;          // the allocator's record of the block
  std::uint32_t generation = 0;  // tells a stale copy from the record's current block

  explicit operator bool() const { return ptr != nullptr; }
};

struct LiveBlock {
  void* ptr;
  std::size_t requested;
  std::size_t size;
  Tag tag;
  StreamId stream;
};

class DeviceAllocator final : private SegmentSource {
 public:
  explicit DeviceAllocator(std::unique_ptr<Backing> backing, const AllocatorConfig& config = {});
  // Returns every block still live, then every segment, to the backing.
  ~DeviceAllocator();
  DeviceAllocator(const DeviceAllocator&) = delete;
  DeviceAllocator& operator=(const DeviceAllocator&) = delete;

  // Throws OutOfMemoryError when neither the cache nor the backing (within the limit) can serve
  // the request, after releasing the cache and retrying once.
  Allocation allocate(std::size_t bytes, Tag tag, StreamId stream = 0);
  void deallocate(const Allocation& allocation);
  // Moves a live block's bytes to another tag.
  void retag(const Allocation& allocation, Tag tag);
  // Returns every fully free cached segment to the backing.
  void empty_cache();
  void reset_peak();

  AllocatorStats stats() const;
  std::vector<LiveBlock> live_blocks() const;
  // Free bytes held in the strategy's segments, as the strategy counts them.
  CacheState cache_state() const;
  std::size_t largest_free_block() const;
  // The backing's capacity, or the configured limit when that is lower.
  std::size_t limit() const override { return limit_; }
  std::size_t backing_held() const;
  std::size_t backing_capacity() const;
  std::string device() const;
  std::string_view strategy_name() const { return strategy_->name(); }

  void set_recording(bool enabled);
  bool recording() const;
  Trace trace() const;
  void clear_trace();

 private:
  struct Record {
    Block block;
    std::size_t requested = 0;
    StreamId stream = 0;
    Tag tag = Tag::other;
    bool live = false;
    std::uint32_t generation = 0;
  };

  void* acquire(std::size_t bytes) override;
  void release(void* base, std::size_t bytes) override;
  void* reserve_address(std::size_t bytes) override { return backing_->reserve(bytes); }
  void release_address(void* base, std::size_t bytes) override { backing_->unreserve(base, bytes); }
  bool map_page(void* at) override;
  void unmap_page(void* at) override;
  std::size_t reserved() const override {
    return static_cast<std::size_t>(stats_.reserved_bytes.current);
  }
  bool within_limit(std::size_t bytes) const;
  // Counts and records a segment (or page) obtained from or returned to the backing.
  void count_segment(Action action, void* base, std::size_t bytes);
  Record& live_record(const Allocation& allocation);
  void sync_cache_state();
  [[noreturn]] void throw_oom(std::size_t bytes, Tag tag, StreamId stream);

  mutable SpinLock lock_;
  std::unique_ptr<Backing> backing_;
  std::size_t limit_;
  Recorder recorder_;
  AllocatorStats stats_;
  std::vector<Record> records_;
  std::vector<std::uint32_t> spare_records_;
  StreamId request_stream_ = 0;  // the stream of the request being served, for segment events
  std::unique_ptr<Strategy> strategy_;  // last: destroyed first, while the rest still exists
};

}  // namespace tally
