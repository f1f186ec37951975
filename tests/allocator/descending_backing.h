// A backing whose segments lie at decreasing addresses, each new one just below the last.
// VirtualBacking's addresses grow with each segment, so under it a strategy that breaks ties by
// a segment's age cannot be told from one that breaks them by address; under this one the two
// choose differently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "allocator/backing.h"
#include "allocator/device_allocator.h"
#include "allocator/units.h"

namespace tally::test {

class DescendingBacking final : public Backing {
 public:
  // The first segment ends here; addresses only, never dereferenced.
  static constexpr std::uintptr_t kTop = std::uintptr_t{1} << 44;

  std::size_t capacity() const override { return 64 * GiB; }
  std::string_view kind() const override { return "descending"; }
  std::string device() const override { return "sim"; }

 private:
  void* do_allocate(std::size_t bytes) override {
    next_ -= bytes;
    return reinterpret_cast<void*>(next_);
  }
  void do_deallocate(void*, std::size_t) override {}

  std::uintptr_t next_ = kTop;
};

// An allocator of `strategy` over a DescendingBacking, recording its trace.
inline std::unique_ptr<DeviceAllocator> descending_allocator(const std::string& strategy) {
  AllocatorConfig config;
  config.strategy = strategy;
  config.record = true;
  return std::make_unique<DeviceAllocator>(std::make_unique<DescendingBacking>(), config);
}

}  // namespace tally::test
