#include "allocator/backing.h"

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
  do_deallocate(base, bytes);
  held_ -= bytes;
}

}  // namespace tally
