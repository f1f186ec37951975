#include "allocator/caching_strategy.h"

#include <algorithm>
#include <bit>

#include "allocator/error.h"

namespace tally {

std::size_t CachingRules::round_size(std::size_t bytes, std::uint32_t divisions) {
  if (bytes < kMinBlockSize) return kMinBlockSize;
  if (divisions > 1 && bytes > kMinBlockSize * divisions && !std::has_single_bit(bytes)) {
    const std::size_t floor = std::bit_floor(bytes);
    const std::size_t step = floor >> std::countr_zero(divisions);
    const std::size_t below = bytes & ~(step - 1);
    return below == bytes ? bytes : below + step;
  }
  return kMinBlockSize * ((bytes + kMinBlockSize - 1) / kMinBlockSize);
}

// Interval i holds requests from 2^i MiB (interval 0 everything below 2 MiB, the last one
// everything from 32 GiB), as PyTorch counts them.
std::uint32_t CachingRules::divisions_for(const StrategyOptions& options, std::size_t bytes) {
  const auto log = static_cast<std::size_t>(std::bit_width(bytes)) - 1;
  constexpr std::size_t kStart = 20;  // 1 MiB
  const std::size_t index = std::min<std::size_t>(log > kStart ? log - kStart : 0,
                                                  options.roundup_power2_divisions.size() - 1);
  return options.roundup_power2_divisions[index];
}

std::size_t CachingRules::segment_size(std::size_t rounded) {
  if (rounded <= kSmallSize) return kSmallBuffer;
  if (rounded < kMinLargeAlloc) return kLargeBuffer;
  return kRoundLarge * ((rounded + kRoundLarge - 1) / kRoundLarge);
}

CachingStrategy::CachingStrategy(SegmentSource& source, const StrategyOptions& options)
    : source_(source), options_(options) {}

// Segments still cached go back to the source; live blocks are the owner's error, and the
// DeviceAllocator returns them before destroying its strategy.
CachingStrategy::~CachingStrategy() {
  release_cached();
}

std::size_t CachingStrategy::block_size(std::size_t bytes) const {
  return CachingRules::round_size(bytes, CachingRules::divisions_for(options_, bytes));
}

std::uint32_t CachingStrategy::pool_index(StreamId stream) {
  if (last_pool_ != kNone && last_stream_ == stream) return last_pool_;
  std::uint32_t i = 0;
  while (i < pools_.size() && pools_[i]->stream != stream) ++i;
  if (i == pools_.size()) {
    pools_.push_back(std::make_unique<StreamPools>());
    pools_.back()->stream = stream;
  }
  last_stream_ = stream;
  last_pool_ = i;
  return i;
}

// Returns an index rather than an optional: the optional's flag byte, stored and reloaded
// with the index, defeats store forwarding on every allocation.
std::uint32_t CachingStrategy::find_free(const StreamPools& pools, bool small,
                                         std::size_t size) const {
  std::uint32_t id;
  if (small) {
    const auto entry = pools.small.best_fit(size);
    if (!entry) return kNone;
    id = entry->id;
  } else {
    const auto it = pools.large.lower_bound(LargeKey{size, 0, 0, 0});
    if (it == pools.large.end()) return kNone;
    id = it->node;
  }
  return CachingRules::may_take(size, nodes_[id].size, options_.max_split_size) ? id : kNone;
}

bool CachingStrategy::should_split(const Node& node, std::size_t size) const {
  const std::size_t remaining = node.size - size;
  if (node.small) return remaining >= CachingRules::kMinBlockSize;
  return size < options_.max_split_size && remaining > CachingRules::kSmallSize;
}

void CachingStrategy::pool_insert(std::uint32_t id) {
  const Node& node = nodes_[id];
  StreamPools& pools = *pools_[node.pool];
  if (node.small) {
    pools.small.insert(node.size, small_order(node), id);
  } else {
    pools.large.insert(LargeKey{node.size, node.segment, node.addr, id});
    nodes_[id].freed_at = large_lookups_;
  }
  state_.free_bytes += node.size;
  if (node.prev != kNone || node.next != kNone) {
    state_.inactive_split_bytes += node.size;
    ++state_.inactive_split_blocks;
  }
}

void CachingStrategy::pool_erase(std::uint32_t id) {
  const Node& node = nodes_[id];
  StreamPools& pools = *pools_[node.pool];
  if (node.small) {
    pools.small.erase(node.size, id);
  } else {
    pools.large.erase(LargeKey{node.size, node.segment, node.addr, id});
  }
  state_.free_bytes -= node.size;
  if (node.prev != kNone || node.next != kNone) {
    state_.inactive_split_bytes -= node.size;
    --state_.inactive_split_blocks;
  }
}

Block CachingStrategy::allocate(std::size_t bytes, StreamId stream) {
  const std::size_t size = block_size(bytes);
  const bool small = size <= CachingRules::kSmallSize;
  const std::uint32_t pool = pool_index(stream);
  large_lookups_ += small ? 0 : 1;
  std::uint32_t id = find_free(*pools_[pool], small, size);
  if (id != kNone) {
    pool_erase(id);
  } else {
    if (options_.garbage_collection_threshold > 0) collect_garbage();
    const std::size_t segment = CachingRules::segment_size(size);
    void* base = source_.acquire(segment);
    if (base == nullptr) return {};
    id = nodes_.add(Node{reinterpret_cast<std::uintptr_t>(base), segment, kNone, kNone, pool,
                         segments_acquired_++, 0, 0, false, small});
  }
  if (should_split(nodes_[id], size)) {
    const Node& whole = nodes_[id];
    const std::uint32_t rest = nodes_.add(Node{
        whole.addr + size, whole.size - size, id, whole.next, pool, whole.segment,
        whole.small ? whole.offset + static_cast<std::uint32_t>(size) : 0, 0, false, whole.small});
    Node& block = nodes_[id];  // new_node may have moved the nodes
    if (block.next != kNone) nodes_[block.next].prev = rest;
    block.next = rest;
    block.size = size;
    pool_insert(rest);
  }
  Node& block = nodes_[id];
  block.allocated = true;
  return Block{reinterpret_cast<void*>(block.addr), block.size, id};
}

// Merges the free `neighbour` into block `id`, which takes over its place in the list.
void CachingStrategy::absorb(std::uint32_t id, std::uint32_t neighbour) {
  pool_erase(neighbour);
  Node& block = nodes_[id];
  const Node& other = nodes_[neighbour];
  if (other.addr < block.addr) {
    block.addr = other.addr;
    block.offset = other.offset;
    block.prev = other.prev;
    if (block.prev != kNone) nodes_[block.prev].next = id;
  } else {
    block.next = other.next;
    if (block.next != kNone) nodes_[block.next].prev = id;
  }
  block.size += other.size;
  nodes_.remove(neighbour);
}

void CachingStrategy::deallocate(const Block& handle) {
  TALLY_CHECK(handle.handle < nodes_.size() && nodes_[handle.handle].allocated &&
                  nodes_[handle.handle].addr == reinterpret_cast<std::uintptr_t>(handle.ptr),
              "block freed that the caching strategy did not hand out");
  const std::uint32_t id = handle.handle;
  nodes_[id].allocated = false;
  if (const auto prev = nodes_[id].prev; prev != kNone && !nodes_[prev].allocated) absorb(id, prev);
  if (const auto next = nodes_[id].next; next != kNone && !nodes_[next].allocated) absorb(id, next);
  pool_insert(id);
}

void CachingStrategy::release_cached() {
  std::vector<std::uint32_t> whole;
  const auto collect = [&](std::uint32_t id) {
    if (nodes_[id].prev == kNone && nodes_[id].next == kNone) whole.push_back(id);
  };
  for (const auto& pools : pools_) {
    // A free small block spans its whole segment exactly when it is segment-sized.
    pools->small.for_each_of(CachingRules::kSmallBuffer,
                             [&](const SizeBins::Entry& e) { collect(e.id); });
    for (const LargeKey& key : pools->large) collect(key.node);
  }
  // Oldest first, so that the segment_free events of a trace depend neither on pool layout nor
  // on the addresses the backing chose.
  std::sort(whole.begin(), whole.end(), [this](std::uint32_t a, std::uint32_t b) {
    return nodes_[a].segment < nodes_[b].segment;
  });
  for (const std::uint32_t id : whole) release_segment(id);
}

void CachingStrategy::release_segment(std::uint32_t id) {
  pool_erase(id);
  source_.release(reinterpret_cast<void*>(nodes_[id].addr), nodes_[id].size);
  nodes_.remove(id);
}

// O(free large segments), and only while reserved is above the threshold. As in PyTorch, a pass
// returns every segment at least as old as the average, even past the target.
void CachingStrategy::collect_garbage() {
  const auto threshold = static_cast<std::size_t>(options_.garbage_collection_threshold *
                                                  static_cast<double>(source_.limit()));
  const std::size_t reserved = source_.reserved();
  if (reserved <= threshold) return;
  struct Candidate {
    std::uint32_t id;
    std::uint32_t age;
  };
  std::vector<Candidate> candidates;
  double total_age = 0;
  for (const auto& pools : pools_) {
    for (const LargeKey& key : pools->large) {
      const Node& node = nodes_[key.node];
      if (node.prev != kNone || node.next != kNone) continue;
      candidates.push_back({key.node, large_lookups_ - node.freed_at});
      total_age += candidates.back().age;
    }
  }
  std::size_t reclaimed = 0;
  bool freed = true;
  while (reclaimed < reserved - threshold && freed && !candidates.empty()) {
    const double average = total_age / static_cast<double>(candidates.size());
    freed = false;
    std::erase_if(candidates, [&](const Candidate& c) {
      if (c.age < average) return false;
      reclaimed += nodes_[c.id].size;
      total_age -= c.age;
      release_segment(c.id);
      freed = true;
      return true;
    });
  }
}

std::size_t CachingStrategy::largest_free_block() const {
  std::size_t largest = 0;
  for (const auto& pools : pools_) {
    largest = std::max(largest, pools->small.largest());
    if (!pools->large.empty()) largest = std::max(largest, pools->large.rbegin()->size);
  }
  return largest;
}

}  // namespace tally
