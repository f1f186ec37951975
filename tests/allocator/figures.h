// Helpers for tests that check the allocator against hand-computed byte counts.
#pragma once

#include <memory>

#include "allocator/device_allocator.h"
#include "allocator/units.h"
#include "allocator/virtual_backing.h"

namespace tally::test {

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
