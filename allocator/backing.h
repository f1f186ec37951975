// Where segments come from: host memory, device memory, or nothing but addresses.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "allocator/units.h"

namespace tally {

// Obtains and returns raw segments. Counts what it holds, so that the allocator's `reserved`
// can be checked against it. Not thread-safe: the DeviceAllocator serialises calls.
class Backing {
 public:
  virtual ~Backing() = default;

  // A segment of exactly `bytes` (a multiple of 512), aligned to at least 512 bytes, or
  // nullptr when the backing has no room. Other failures throw tally::Error.
  void* allocate(std::size_t bytes);
  // Never throws for the backing's own failure to return the segment: that is recorded
  // (allocator/cleanup_errors.h) and the segment counts as returned.
  void deallocate(void* base, std::size_t bytes);

  // Address space without memory, and memory mapped into it a page at a time: the CUDA virtual
  // memory management API's model, which the expandable strategy grows in place with. A range
  // holds nothing until pages are mapped; held() counts mapped pages like segments.
  static constexpr std::size_t kPage = 2 * MiB;
  // A range of `bytes` (a multiple of kPage) aligned to kPage, or nullptr when the address space
  // is exhausted. A backing that cannot map pages throws UsageError.
  void* reserve(std::size_t bytes);
  void unreserve(void* base, std::size_t bytes);
  // Maps the page at `at` (kPage-aligned, inside a reserved range), or returns false when the
  // backing has no room. Never throws for the backing's own failure to unmap (as deallocate).
  bool map(void* at);
  void unmap(void* at);

  std::size_t held() const { return held_; }
  virtual std::size_t capacity() const = 0;
  // "host", "virtual" or "cuda".
  virtual std::string_view kind() const = 0;
  // The device this memory belongs to: "cpu", "sim", "cuda:0".
  virtual std::string device() const = 0;

 protected:
  virtual void* do_allocate(std::size_t bytes) = 0;
  virtual void do_deallocate(void* base, std::size_t bytes) = 0;
  virtual void* do_reserve(std::size_t bytes);
  virtual void do_unreserve(void* base, std::size_t bytes);
  virtual bool do_map(void* at);
  virtual void do_unmap(void* at);

 private:
  std::size_t held_ = 0;
};

}  // namespace tally
