#pragma once

#include <cstdint>
#include <string>

#include "allocator/backing.h"

namespace tally {

// No memory at all: hands out addresses from a virtual range and enforces a capacity. Used by
// the sim device and by trace replay. Addresses are deterministic: the same sequence of calls
// yields the same addresses. They must never be dereferenced.
class VirtualBacking final : public Backing {
 public:
  static constexpr std::uintptr_t kDefaultBase = std::uintptr_t{1} << 44;

  // `device` names it in traces and errors: "sim" by default, "sim:cuda" for the sim device
  // mimicking cuda.
  explicit VirtualBacking(std::size_t capacity, std::uintptr_t base = kDefaultBase,
                          std::string device = "sim");

  std::size_t capacity() const override { return capacity_; }
  std::string_view kind() const override { return "virtual"; }
  std::string device() const override { return device_; }

 private:
  void* do_allocate(std::size_t bytes) override;
  void do_deallocate(void* base, std::size_t bytes) override;
  void* do_reserve(std::size_t bytes) override;
  bool do_map(void*) override { return true; }

  std::size_t capacity_;
  std::uintptr_t next_;
  std::string device_;
};

}  // namespace tally
