#pragma once

#include "allocator/backing.h"

namespace tally {

// Aligned host memory. The capacity defaults to the machine's physical memory. Address ranges
// are inaccessible anonymous mappings; mapping a page makes it read-write, unmapping gives its
// memory back to the system and makes it inaccessible again.
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
  void* do_reserve(std::size_t bytes) override;
  void do_unreserve(void* base, std::size_t bytes) override;
  bool do_map(void* at) override;
  void do_unmap(void* at) override;

  std::size_t capacity_;
};

}  // namespace tally
