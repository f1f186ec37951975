#pragma once

#include "allocator/backing.h"

namespace tally {

// Aligned host memory. The capacity defaults to the machine's physical memory.
class HostBacking final : public Backing {
 public:
  HostBacking();
  explicit HostBacking(std::size_t capacity);

  std::size_t capacity() const override { return capacity_; }
  std::string_view kind() const override { return "host"; }
  std::string device() const override { return "cpu"; }

 private:
  void* do_allocate(std::size_t bytes) override;
  void do_deallocate(void* base, std::size_t bytes) override;

  std::size_t capacity_;
};

}  // namespace tally
