// Device memory from cudaMalloc (never managed memory), and for the expandable strategy
// address ranges with 2 MiB pages mapped through the driver's virtual memory management API
// (cuMemAddressReserve, cuMemCreate, cuMemMap, cuMemSetAccess). Built only with CUDA.
#pragma once

#include <cstdint>
#include <unordered_map>

#include "allocator/backing.h"

namespace tally {

class CudaBacking final : public Backing {
 public:
  // Throws tally::Error when the device does not exist or cannot be queried.
  explicit CudaBacking(int device);

  std::size_t capacity() const override { return capacity_; }
  std::string_view kind() const override { return "cuda"; }
  std::string device() const override { return "cuda:" + std::to_string(device_); }

 private:
  void* do_allocate(std::size_t bytes) override;
  void do_deallocate(void* base, std::size_t bytes) override;
  void* do_reserve(std::size_t bytes) override;
  void do_unreserve(void* base, std::size_t bytes) override;
  bool do_map(void* at) override;
  void do_unmap(void* at) override;

  int device_;
  std::size_t capacity_;
  std::unordered_map<std::uintptr_t, std::uint64_t> pages_;  // mapped page -> physical handle
};

}  // namespace tally
