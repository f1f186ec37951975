#include "allocator/host_backing.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "allocator/error.h"

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

namespace {

void check_system_call(bool ok, const char* call) {
  if (!ok) throw Error(ErrorKind::device, call, strerrorname_np(errno), std::strerror(errno));
}

}  // namespace

// One page more than asked, then the unaligned ends are returned: mmap aligns to the system's
// page only.
void* HostBacking::do_reserve(std::size_t bytes) {
  void* raw =
      mmap(nullptr, bytes + kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t base = (start + kPage - 1) / kPage * kPage;
  if (base > start) munmap(raw, base - start);
  const std::uintptr_t end = start + bytes + kPage;
  if (end > base + bytes) munmap(reinterpret_cast<void*>(base + bytes), end - base - bytes);
  return reinterpret_cast<void*>(base);
}

void HostBacking::do_unreserve(void* base, std::size_t bytes) {
  check_system_call(munmap(base, bytes) == 0, "munmap");
}

bool HostBacking::do_map(void* at) {
  if (mprotect(at, kPage, PROT_READ | PROT_WRITE) == 0) return true;
  check_system_call(errno == ENOMEM || errno == EAGAIN, "mprotect");
  return false;
}

void HostBacking::do_unmap(void* at) {
  check_system_call(madvise(at, kPage, MADV_DONTNEED) == 0, "madvise");
  check_system_call(mprotect(at, kPage, PROT_NONE) == 0, "mprotect");
}

}  // namespace tally
