#include "allocator/host_backing.h"

#include <unistd.h>

#include <cstdlib>

namespace tally {
namespace {

// Segments are aligned like cudaMalloc's (and to a cache line twice over), so that block
// offsets computed on the host match the ones a device would see.
constexpr std::size_t kAlignment = 512;

std::size_t physical_memory() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page_size > 0 ? static_cast<std::size_t>(pages) * page_size : 0;
}

}  // namespace

HostBacking::HostBacking() : capacity_(physical_memory()) {}
HostBacking::HostBacking(std::size_t capacity) : capacity_(capacity) {}

void* HostBacking::do_allocate(std::size_t bytes) {
  return std::aligned_alloc(kAlignment, bytes);
}

void HostBacking::do_deallocate(void* base, std::size_t) {
  std::free(base);
}

}  // namespace tally
