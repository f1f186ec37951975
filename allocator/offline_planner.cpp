#include "allocator/offline_planner.h"

#include <algorithm>
#include <numeric>
#include <string>
#include <unordered_map>

#include "allocator/error.h"

namespace tally {
namespace {

std::int64_t round_up(std::int64_t n, std::int64_t alignment) {
  return (n + alignment - 1) / alignment * alignment;
}

bool lifetimes_meet(const PlannedBlock& a, const PlannedBlock& b) {
  return a.first < b.last && b.first < a.last;
}

// The lowest offset at which `block` fits between the placed blocks whose lifetimes meet its own.
std::int64_t lowest_free_offset(const PlannedBlock& block,
                                const std::vector<PlannedBlock>& placed) {
  std::vector<const PlannedBlock*> conflicts;
  for (const PlannedBlock& p : placed) {
    if (lifetimes_meet(block, p)) conflicts.push_back(&p);
  }
  std::sort(conflicts.begin(), conflicts.end(),
            [](const PlannedBlock* a, const PlannedBlock* b) { return a->offset < b->offset; });
  std::int64_t offset = 0;
  for (const PlannedBlock* p : conflicts) {
    if (p->offset >= offset + block.size) break;  // the gap before p holds the block
    offset = std::max(offset, p->offset + p->size);
  }
  return offset;
}

}  // namespace

OfflinePlan plan_offline(const Trace& trace, std::uint16_t device, std::int64_t alignment) {
  if (alignment < 1 || (alignment & (alignment - 1)) != 0) {
    throw UsageError("plan_offline: alignment " + std::to_string(alignment) +
                     " is not a power of two");
  }
  OfflinePlan plan;
  std::unordered_map<std::uint64_t, std::size_t> live;  // address -> index into plan.blocks
  std::vector<std::int64_t> requested;
  std::int64_t live_requested = 0;
  std::uint64_t index = 0;
  for (const Event& e : trace.events) {
    if (e.device != device || (e.action != Action::alloc && e.action != Action::free)) continue;
    if (e.action == Action::alloc) {
      if (!live.emplace(e.address, plan.blocks.size()).second) {
        throw DataError("plan_offline: event " + std::to_string(e.seq) +
                        " allocates an address that is already allocated");
      }
      const auto bytes = static_cast<std::int64_t>(e.requested);
      plan.blocks.push_back({0, round_up(bytes, alignment), index, 0});
      requested.push_back(bytes);
      live_requested += bytes;
      plan.lower_bound = std::max(plan.lower_bound, live_requested);
    } else {
      const auto it = live.find(e.address);
      if (it == live.end()) {
        throw DataError("plan_offline: event " + std::to_string(e.seq) +
                        " frees an address that is not allocated");
      }
      plan.blocks[it->second].last = index;
      live_requested -= requested[it->second];
      live.erase(it);
    }
    ++index;
  }
  for (const auto& [address, block] : live) plan.blocks[block].last = index;

  std::vector<std::size_t> order(plan.blocks.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  // Larger first; among equals, the earlier allocation first, so that a plan is reproducible.
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return plan.blocks[a].size > plan.blocks[b].size;
  });
  std::vector<PlannedBlock> placed;
  placed.reserve(order.size());
  for (const std::size_t i : order) {
    PlannedBlock& block = plan.blocks[i];
    block.offset = lowest_free_offset(block, placed);
    placed.push_back(block);
    plan.arena_bytes = std::max(plan.arena_bytes, block.offset + block.size);
  }
  return plan;
}

}  // namespace tally
