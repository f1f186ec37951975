// Device memory from cudaMalloc (never managed memory). Built only with CUDA.
#pragma once

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

  int device_;
  std::size_t capacity_;
};

}  // namespace tally
