#include "allocator/device_allocator.h"

#include <algorithm>
#include <utility>

#include "allocator/error.h"
#include "allocator/units.h"

namespace tally {
namespace {

inline void count_in(BlockStats& s, std::size_t requested, std::size_t size) {
  s.requested_bytes.increase(static_cast<std::int64_t>(requested));
  s.allocated_bytes.increase(static_cast<std::int64_t>(size));
  s.allocation.increase(1);
}

inline void count_out(BlockStats& s, std::size_t requested, std::size_t size) {
  s.requested_bytes.decrease(static_cast<std::int64_t>(requested));
  s.allocated_bytes.decrease(static_cast<std::int64_t>(size));
  s.allocation.decrease(1);
}

}  // namespace

DeviceAllocator::DeviceAllocator(std::unique_ptr<Backing> backing, const AllocatorConfig& config)
    : backing_(std::move(backing)),
      limit_(std::min(config.limit.value_or(SIZE_MAX), backing_->capacity())),
      recorder_(backing_->device(), config.record),
      strategy_(make_strategy(config.strategy, *this, config.strategy_options)) {}

DeviceAllocator::~DeviceAllocator() {
  recorder_.begin_call();
  for (Record& record : records_) {
    if (record.live) strategy_->deallocate(record.block);
  }
  strategy_->release_cached();
  strategy_.reset();
}

bool DeviceAllocator::within_limit(std::size_t bytes) const {
  const auto reserved = static_cast<std::size_t>(stats_.reserved_bytes.current);
  return bytes <= limit_ - std::min(reserved, limit_);
}

void DeviceAllocator::count_segment(Action action, void* base, std::size_t bytes) {
  const auto delta = static_cast<std::int64_t>(bytes);
  if (action == Action::segment_alloc) {
    stats_.reserved_bytes.increase(delta);
    stats_.segment.increase(1);
  } else {
    stats_.reserved_bytes.decrease(delta);
    stats_.segment.decrease(1);
  }
  recorder_.record(action, reinterpret_cast<std::uintptr_t>(base), bytes, bytes, request_stream_,
                   std::nullopt);
}

void* DeviceAllocator::acquire(std::size_t bytes) {
  if (!within_limit(bytes)) return nullptr;
  void* base = backing_->allocate(bytes);
  if (base != nullptr) count_segment(Action::segment_alloc, base, bytes);
  return base;
}

void DeviceAllocator::release(void* base, std::size_t bytes) {
  backing_->deallocate(base, bytes);
  count_segment(Action::segment_free, base, bytes);
}

bool DeviceAllocator::map_page(void* at) {
  if (!within_limit(Backing::kPage) || !backing_->map(at)) return false;
  count_segment(Action::segment_alloc, at, Backing::kPage);
  return true;
}

void DeviceAllocator::unmap_page(void* at) {
  backing_->unmap(at);
  count_segment(Action::segment_free, at, Backing::kPage);
}

void DeviceAllocator::sync_cache_state() {
  const CacheState& state = strategy_->cache_state();
  const auto bytes = static_cast<std::int64_t>(state.inactive_split_bytes);
  const auto blocks = static_cast<std::int64_t>(state.inactive_split_blocks);
  if (bytes == stats_.inactive_split_bytes.current && blocks == stats_.inactive_split.current) {
    return;
  }
  stats_.inactive_split_bytes.set(bytes);
  stats_.inactive_split.set(blocks);
}

Allocation DeviceAllocator::allocate(std::size_t bytes, Tag tag, StreamId stream) {
  if (bytes == 0) return {};
  std::lock_guard guard(lock_);
  recorder_.begin_call();
  request_stream_ = stream;
  // Beyond the limit nothing can help; this also keeps rounding away from overflow.
  if (bytes > limit_) throw_oom(bytes, tag, stream);
  Block block = strategy_->allocate(bytes, stream);
  if (!block) {
    ++stats_.num_alloc_retries;
    strategy_->release_cached();
    block = strategy_->allocate(bytes, stream);
  }
  if (!block) throw_oom(bytes, tag, stream);

  std::uint32_t id;
  if (spare_records_.empty()) {
    id = static_cast<std::uint32_t>(records_.size());
    records_.emplace_back();
  } else {
    id = spare_records_.back();
    spare_records_.pop_back();
  }
  Record& record = records_[id];
  record.block = block;
  record.requested = bytes;
  record.stream = stream;
  record.tag = tag;
  record.live = true;
  ++record.generation;

  count_in(stats_.total, bytes, block.size);
  count_in(stats_.by_tag[index_of(tag)], bytes, block.size);
  sync_cache_state();
  const auto address = reinterpret_cast<std::uintptr_t>(block.ptr);
  recorder_.record(Action::alloc, address, bytes, block.size, stream, tag);
  return Allocation{block.ptr, bytes, block.size, id, record.generation};
}

DeviceAllocator::Record& DeviceAllocator::live_record(const Allocation& allocation) {
  const bool known = allocation.id < records_.size() && records_[allocation.id].live &&
                     records_[allocation.id].generation == allocation.generation &&
                     records_[allocation.id].block.ptr == allocation.ptr;
  TALLY_CHECK(known, "block is not live in this allocator (freed twice, or from another device)");
  return records_[allocation.id];
}

void DeviceAllocator::deallocate(const Allocation& allocation) {
  if (!allocation) return;
  std::lock_guard guard(lock_);
  recorder_.begin_call();
  Record& record = live_record(allocation);
  request_stream_ = record.stream;
  // Recorded first: a segment the free returns is released after the block, as in the trace.
  recorder_.record(Action::free, reinterpret_cast<std::uintptr_t>(record.block.ptr),
                   record.requested, record.block.size, record.stream, record.tag);
  strategy_->deallocate(record.block);
  record.live = false;
  spare_records_.push_back(allocation.id);

  count_out(stats_.total, record.requested, record.block.size);
  count_out(stats_.by_tag[index_of(record.tag)], record.requested, record.block.size);
  sync_cache_state();
}

void DeviceAllocator::retag(const Allocation& allocation, Tag tag) {
  if (!allocation) return;
  std::lock_guard guard(lock_);
  Record& record = live_record(allocation);
  if (record.tag == tag) return;
  count_out(stats_.by_tag[index_of(record.tag)], record.requested, record.block.size);
  count_in(stats_.by_tag[index_of(tag)], record.requested, record.block.size);
  ++stats_.num_retags;
  recorder_.begin_call();
  recorder_.record(Action::retag, reinterpret_cast<std::uintptr_t>(record.block.ptr),
                   record.requested, record.block.size, record.stream, tag, record.tag);
  record.tag = tag;
}

void DeviceAllocator::empty_cache() {
  std::lock_guard guard(lock_);
  recorder_.begin_call();
  request_stream_ = 0;
  strategy_->release_cached();
  sync_cache_state();
}

void DeviceAllocator::reset_peak() {
  std::lock_guard guard(lock_);
  stats_.reset_peak();
}

void DeviceAllocator::throw_oom(std::size_t bytes, Tag tag, StreamId stream) {
  ++stats_.num_ooms;
  sync_cache_state();
  const std::size_t rounded = bytes > limit_ ? bytes : strategy_->block_size(bytes);
  recorder_.record(Action::oom, 0, bytes, rounded, stream, tag);

  std::vector<std::pair<std::int64_t, Tag>> tags;
  for (const Tag t : kAllTags) {
    const std::int64_t held = stats_.of(t).allocated_bytes.current;
    if (held > 0) tags.emplace_back(held, t);
  }
  std::sort(tags.begin(), tags.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string top;
  for (std::size_t i = 0; i < std::min<std::size_t>(tags.size(), 3); ++i) {
    top += (i ? ", " : "") + std::string(tag_name(tags[i].second)) + " " +
           format_bytes(static_cast<std::size_t>(tags[i].first));
  }
  const auto allocated = static_cast<std::size_t>(stats_.total.allocated_bytes.current);
  const auto reserved = static_cast<std::size_t>(stats_.reserved_bytes.current);
  const std::string limit = limit_ < backing_->capacity()
                                ? "limit " + format_bytes(limit_) + " (capacity " +
                                      format_bytes(backing_->capacity()) + ")"
                                : "capacity " + format_bytes(backing_->capacity());
  throw OutOfMemoryError(
      bytes, "out of memory on " + backing_->device() + ": asked " + format_bytes(bytes) + " (" +
                 std::to_string(bytes) + " B, " + format_bytes(rounded) + " rounded) for " +
                 std::string(tag_name(tag)) + "; " + limit + "; allocated " +
                 format_bytes(allocated) + ", reserved " + format_bytes(reserved) +
                 ", free in cache " + format_bytes(strategy_->cache_state().free_bytes) +
                 ", largest free block " + format_bytes(strategy_->largest_free_block()) +
                 "; top tags: " + (top.empty() ? "none" : top));
}

AllocatorStats DeviceAllocator::stats() const {
  std::lock_guard guard(lock_);
  AllocatorStats stats = stats_;
  // No free is deferred by stream use yet, so every allocated block is active.
  const auto derive_active = [](BlockStats& s) {
    s.active_bytes = s.allocated_bytes;
    s.active = s.allocation;
  };
  derive_active(stats.total);
  for (BlockStats& s : stats.by_tag) derive_active(s);
  return stats;
}

std::vector<LiveBlock> DeviceAllocator::live_blocks() const {
  std::lock_guard guard(lock_);
  std::vector<LiveBlock> blocks;
  for (const Record& r : records_) {
    if (r.live)
      blocks.push_back(LiveBlock{r.block.ptr, r.requested, r.block.size, r.tag, r.stream});
  }
  return blocks;
}

CacheState DeviceAllocator::cache_state() const {
  std::lock_guard guard(lock_);
  return strategy_->cache_state();
}

std::size_t DeviceAllocator::largest_free_block() const {
  std::lock_guard guard(lock_);
  return strategy_->largest_free_block();
}

std::size_t DeviceAllocator::backing_held() const {
  std::lock_guard guard(lock_);
  return backing_->held();
}

std::size_t DeviceAllocator::backing_capacity() const {
  return backing_->capacity();
}
std::string DeviceAllocator::device() const {
  return backing_->device();
}

void DeviceAllocator::set_recording(bool enabled) {
  std::lock_guard guard(lock_);
  recorder_.set_enabled(enabled);
}

bool DeviceAllocator::recording() const {
  std::lock_guard guard(lock_);
  return recorder_.enabled();
}

Trace DeviceAllocator::trace() const {
  std::lock_guard guard(lock_);
  return recorder_.trace();
}

void DeviceAllocator::clear_trace() {
  std::lock_guard guard(lock_);
  recorder_.clear();
}

}  // namespace tally
