#include "allocator/backing.h"

#include <cstdint>

#include "allocator/cleanup_errors.h"
#include "allocator/error.h"

namespace tally {

void* Backing::allocate(std::size_t bytes) {
  TALLY_CHECK(bytes > 0 && bytes % 512 == 0, "segment size must be a positive multiple of 512");
  if (bytes > capacity() - held_) return nullptr;
  void* base = do_allocate(bytes);
  if (base != nullptr) held_ += bytes;
  return base;
}

void Backing::deallocate(void* base, std::size_t bytes) {
  TALLY_CHECK(bytes <= held_, "segment returned that the backing does not hold");
  // Counted as returned even when the return fails: the segment cannot be handed out again
  // either way, and the allocator above, which may be freeing it from a destructor, must keep
  // `reserved` equal to what the backing holds.
  held_ -= bytes;
  run_cleanup("returning a segment", [&] { do_deallocate(base, bytes); });
}

void* Backing::reserve(std::size_t bytes) {
  TALLY_CHECK(bytes > 0 && bytes % kPage == 0,
              "address range must be a positive multiple of 2 MiB");
  return do_reserve(bytes);
}

void Backing::unreserve(void* base, std::size_t bytes) {
  run_cleanup("returning an address range", [&] { do_unreserve(base, bytes); });
}

bool Backing::map(void* at) {
  TALLY_CHECK(reinterpret_cast<std::uintptr_t>(at) % kPage == 0, "page address must be aligned");
  if (kPage > capacity() - held_) return false;
  if (!do_map(at)) return false;
  held_ += kPage;
  return true;
}

void Backing::unmap(void* at) {
  TALLY_CHECK(kPage <= held_, "page unmapped that the backing does not hold");
  held_ -= kPage;
  run_cleanup("unmapping a page", [&] { do_unmap(at); });
}

void* Backing::do_reserve(std::size_t) {
  throw UsageError("the " + std::string(kind()) +
                   " backing cannot map pages into reserved address space (the expandable "
                   "strategy needs the host, virtual or cuda backing)");
}

void Backing::do_unreserve(void*, std::size_t) {}
bool Backing::do_map(void*) {
  return false;
}
void Backing::do_unmap(void*) {}

}  // namespace tally
