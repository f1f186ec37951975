#include "allocator/virtual_backing.h"

#include <utility>

#include "allocator/error.h"

namespace tally {

VirtualBacking::VirtualBacking(std::size_t capacity, std::uintptr_t base, std::string device)
    : capacity_(capacity), next_(base), device_(std::move(device)) {
  TALLY_CHECK(base != 0 && base % 512 == 0,
              "virtual base address must be non-zero and 512-aligned");
}

// Addresses only grow, so a returned range is never handed out again: live segments can
// never alias, and a 2^64 range outlasts any trace.
void* VirtualBacking::do_allocate(std::size_t bytes) {
  const std::uintptr_t base = next_;
  next_ += bytes;
  return reinterpret_cast<void*>(base);
}

void VirtualBacking::do_deallocate(void*, std::size_t) {}

// From the same growing range as segments, so that ranges and segments never alias either.
void* VirtualBacking::do_reserve(std::size_t bytes) {
  next_ = (next_ + kPage - 1) / kPage * kPage;
  return do_allocate(bytes);
}

}  // namespace tally
