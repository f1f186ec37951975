#include "allocator/expandable_strategy.h"

#include <algorithm>

#include "allocator/backing.h"
#include "allocator/error.h"

namespace tally {
namespace {

constexpr std::size_t kPage = Backing::kPage;

std::uintptr_t page_up(std::uintptr_t n) {
  return (n + kPage - 1) / kPage * kPage;
}

}  // namespace

ExpandableStrategy::ExpandableStrategy(SegmentSource& source, const StrategyOptions& options)
    : source_(source), options_(options) {}

ExpandableStrategy::~ExpandableStrategy() {
  release_cached();
  for (const Range& range : ranges_) {
    source_.release_address(reinterpret_cast<void*>(range.base), range.size);
  }
}

std::size_t ExpandableStrategy::block_size(std::size_t bytes) const {
  return CachingRules::round_size(bytes, CachingRules::divisions_for(options_, bytes));
}

std::uint32_t ExpandableStrategy::pool_index(StreamId stream, bool small) {
  for (std::uint32_t i = 0; i < pools_.size(); ++i) {
    if (pools_[i].stream == stream && pools_[i].small == small) return i;
  }
  Pool& pool = pools_.emplace_back();
  pool.stream = stream;
  pool.small = small;
  return static_cast<std::uint32_t>(pools_.size() - 1);
}

ExpandableStrategy::Key ExpandableStrategy::key_of(std::uint32_t id, bool by_size) const {
  const Node& node = nodes_[id];
  return Key{by_size ? node.size : 0, node.range, node.addr - ranges_[node.range].base, id};
}

void ExpandableStrategy::insert(std::uint32_t pool, std::uint32_t id) {
  const Node& node = nodes_[id];
  if (node.state == State::unmapped) {
    pools_[pool].unmapped.insert(key_of(id, false));
    return;
  }
  if (node.size <= kBinnedBytes) {
    pools_[pool].free_small.insert(node.size, order_of(node), id);
  } else {
    pools_[pool].free_large.insert(key_of(id, true));
  }
  state_.free_bytes += node.size;
  if (node.prev != kNone || node.next != kNone) {
    state_.inactive_split_bytes += node.size;
    ++state_.inactive_split_blocks;
  }
}

void ExpandableStrategy::erase(std::uint32_t pool, std::uint32_t id) {
  const Node& node = nodes_[id];
  if (node.state == State::unmapped) {
    pools_[pool].unmapped.erase(key_of(id, false));
    return;
  }
  if (node.size <= kBinnedBytes) {
    pools_[pool].free_small.erase(node.size, id);
  } else {
    pools_[pool].free_large.erase(key_of(id, true));
  }
  state_.free_bytes -= node.size;
  if (node.prev != kNone || node.next != kNone) {
    state_.inactive_split_bytes -= node.size;
    --state_.inactive_split_blocks;
  }
}

std::uint32_t ExpandableStrategy::split_front(std::uint32_t id, std::size_t bytes, State state) {
  const Node& whole = nodes_[id];
  const std::uint32_t front =
      nodes_.add(Node{whole.addr, bytes, whole.prev, id, whole.range, state});
  Node& rest = nodes_[id];  // new_node may have moved the nodes
  if (rest.prev != kNone) nodes_[rest.prev].next = front;
  rest.prev = front;
  rest.addr += bytes;
  rest.size -= bytes;
  return front;
}

std::uint32_t ExpandableStrategy::coalesce(std::uint32_t pool, std::uint32_t id) {
  const State state = nodes_[id].state;
  if (const std::uint32_t prev = nodes_[id].prev; prev != kNone && nodes_[prev].state == state) {
    erase(pool, prev);
    Node& node = nodes_[id];
    node.addr = nodes_[prev].addr;
    node.size += nodes_[prev].size;
    node.prev = nodes_[prev].prev;
    if (node.prev != kNone) nodes_[node.prev].next = id;
    nodes_.remove(prev);
  }
  if (const std::uint32_t next = nodes_[id].next; next != kNone && nodes_[next].state == state) {
    erase(pool, next);
    Node& node = nodes_[id];
    node.size += nodes_[next].size;
    node.next = nodes_[next].next;
    if (node.next != kNone) nodes_[node.next].prev = id;
    nodes_.remove(next);
  }
  return id;
}

std::uint32_t ExpandableStrategy::find_free(const Pool& pool, std::size_t size) const {
  std::uint32_t id = kNone;
  if (size <= kBinnedBytes) {
    if (const auto entry = pool.free_small.best_fit(size)) id = entry->id;
  }
  if (id == kNone) {
    const auto it = pool.free_large.lower_bound(Key{size, 0, 0, 0});
    if (it == pool.free_large.end()) return kNone;
    id = it->node;
  }
  return CachingRules::may_take(size, nodes_[id].size, options_.max_split_size) ? id : kNone;
}

// The lowest unmapped stretch which, with a free block just before it and whatever free and
// unmapped stretches follow, spans `size` bytes: PyTorch's search for room to map.
std::uint32_t ExpandableStrategy::room_for(std::uint32_t pool, std::size_t size) {
  for (const Key& key : pools_[pool].unmapped) {
    std::uint32_t start = key.node;
    const std::uint32_t prev = nodes_[start].prev;
    if (prev != kNone && nodes_[prev].state == State::free) start = prev;
    std::size_t room = 0;
    for (std::uint32_t n = start; n != kNone && room < size && nodes_[n].state != State::allocated;
         n = nodes_[n].next) {
      room += nodes_[n].size;
    }
    if (room >= size) return start;
  }
  return kNone;
}

// Maps the pages covering the first `bytes` of the unmapped stretch `id`; they become a free
// block, merged with free neighbours. Returns that block, or kNone when a page is refused (the
// pages this call mapped are unmapped again).
std::uint32_t ExpandableStrategy::map_front(std::uint32_t pool, std::uint32_t id,
                                            std::size_t bytes) {
  const std::uintptr_t start = nodes_[id].addr;
  const std::size_t pages = page_up(bytes);
  for (std::size_t offset = 0; offset < pages; offset += kPage) {
    if (source_.map_page(reinterpret_cast<void*>(start + offset))) continue;
    for (std::size_t done = 0; done < offset; done += kPage) {
      source_.unmap_page(reinterpret_cast<void*>(start + done));
    }
    return kNone;
  }
  erase(pool, id);
  std::uint32_t mapped = id;
  if (pages < nodes_[id].size) {
    mapped = split_front(id, pages, State::free);
    insert(pool, id);
  } else {
    nodes_[id].state = State::free;
  }
  mapped = coalesce(pool, mapped);
  insert(pool, mapped);
  return mapped;
}

std::uint32_t ExpandableStrategy::grow(std::uint32_t pool, std::size_t size) {
  std::uint32_t block = room_for(pool, size);
  if (block == kNone) {
    // As PyTorch does, room for the whole device and an eighth more: a range is never the
    // limit, and a new one is reserved only when holes have fragmented the old ones.
    const std::size_t limit = source_.limit();
    const std::size_t bytes = std::max(page_up(limit + limit / 8), page_up(size));
    void* base = source_.reserve_address(bytes);
    if (base == nullptr) return kNone;
    ranges_.push_back(Range{reinterpret_cast<std::uintptr_t>(base), bytes});
    range_pool_.push_back(pool);
    block = nodes_.add(Node{ranges_.back().base, bytes, kNone, kNone,
                            static_cast<std::uint32_t>(ranges_.size() - 1), State::unmapped});
    insert(pool, block);
  }
  if (nodes_[block].state == State::unmapped) {
    block = map_front(pool, block, std::min(size, nodes_[block].size));
  }
  while (block != kNone && nodes_[block].size < size) {
    const std::uint32_t next = nodes_[block].next;
    block = map_front(pool, next, std::min(size - nodes_[block].size, nodes_[next].size));
  }
  return block;
}

Block ExpandableStrategy::allocate(std::size_t bytes, StreamId stream) {
  const std::size_t size = block_size(bytes);
  const std::uint32_t pool = pool_index(stream, size <= CachingRules::kSmallSize);
  std::uint32_t id = find_free(pools_[pool], size);
  if (id == kNone) id = grow(pool, size);
  if (id == kNone) return {};
  erase(pool, id);
  if (nodes_[id].size - size >= CachingRules::kMinBlockSize) {
    const std::uint32_t rest = id;
    id = split_front(rest, size, State::allocated);
    insert(pool, rest);
  } else {
    nodes_[id].state = State::allocated;
  }
  return Block{reinterpret_cast<void*>(nodes_[id].addr), nodes_[id].size, id};
}

void ExpandableStrategy::deallocate(const Block& block) {
  const std::uint32_t id = block.handle;
  TALLY_CHECK(id < nodes_.size() && nodes_[id].state == State::allocated &&
                  nodes_[id].addr == reinterpret_cast<std::uintptr_t>(block.ptr),
              "block freed that the expandable strategy did not hand out");
  const std::uint32_t pool = range_pool_[nodes_[id].range];
  nodes_[id].state = State::free;
  insert(pool, coalesce(pool, id));
}

// The whole pages inside free block `id` are unmapped; a partly used page at either end stays
// mapped as a smaller free block.
void ExpandableStrategy::unmap_pages(std::uint32_t pool, std::uint32_t id) {
  const std::uintptr_t begin = page_up(nodes_[id].addr);
  const std::uintptr_t end = (nodes_[id].addr + nodes_[id].size) / kPage * kPage;
  if (begin >= end) return;
  erase(pool, id);
  if (begin > nodes_[id].addr) insert(pool, split_front(id, begin - nodes_[id].addr, State::free));
  std::uint32_t hole = id;
  if (end < nodes_[id].addr + nodes_[id].size) {
    hole = split_front(id, end - begin, State::unmapped);
    insert(pool, id);
  } else {
    nodes_[id].state = State::unmapped;
  }
  for (std::uintptr_t page = begin; page < end; page += kPage) {
    source_.unmap_page(reinterpret_cast<void*>(page));
  }
  insert(pool, coalesce(pool, hole));
}

void ExpandableStrategy::release_cached() {
  for (std::uint32_t pool = 0; pool < pools_.size(); ++pool) {
    // A binned block holds a whole page only if it is exactly one page, aligned.
    std::vector<std::uint32_t> free;
    pools_[pool].free_small.for_each_of(kBinnedBytes,
                                        [&](const SizeBins::Entry& e) { free.push_back(e.id); });
    for (const Key& key : pools_[pool].free_large) free.push_back(key.node);
    for (const std::uint32_t id : free) unmap_pages(pool, id);
  }
}

std::size_t ExpandableStrategy::largest_free_block() const {
  std::size_t largest = 0;
  for (const Pool& pool : pools_) {
    largest = std::max(largest, pool.free_small.largest());
    if (!pool.free_large.empty()) largest = std::max(largest, pool.free_large.rbegin()->size);
  }
  return largest;
}

}  // namespace tally
