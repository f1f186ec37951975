// Helpers for tests that check the allocator against hand-computed byte counts.
#pragma once

#include <memory>

#include "allocator/device_allocator.h"
#include "allocator/event.h"
#include "allocator/units.h"
#include "allocator/virtual_backing.h"

namespace tally::test {

// An alloc, free or retag of the block at `address`, tagged activation, for hand-made traces.
inline Event block_event(Action action, std::uint64_t address, std::uint64_t requested) {
  Event e;
  e.action = action;
  e.address = address;
  e.requested = requested;
  e.tag = Tag::activation;
  return e;
}

// A trace of `events`, numbered in order.
inline Trace numbered(std::vector<Event> events) {
  Trace t;
  t.events = std::move(events);
  for (std::size_t i = 0; i < t.events.size(); ++i) t.events[i].seq = i;
  return t;
}

inline std::unique_ptr<DeviceAllocator> virtual_allocator(const std::string& strategy,
                                                          std::size_t capacity = 64 * GiB,
                                                          StrategyOptions options = {}) {
  AllocatorConfig config;
  config.strategy = strategy;
  config.strategy_options = options;
  return std::make_unique<DeviceAllocator>(std::make_unique<VirtualBacking>(capacity), config);
}

inline std::uintptr_t addr(const Allocation& a) {
  return reinterpret_cast<std::uintptr_t>(a.ptr);
}

}  // namespace tally::test
