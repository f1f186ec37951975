#include "allocator/backing.h"

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

}  // namespace tally
