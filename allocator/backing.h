// Where segments come from: host memory, device memory, or nothing but addresses.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

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

  std::size_t held() const { return held_; }
  virtual std::size_t capacity() const = 0;
  // "host", "virtual" or "cuda".
  virtual std::string_view kind() const = 0;
  // The device this memory belongs to: "cpu", "sim", "cuda:0".
  virtual std::string device() const = 0;

 protected:
  virtual void* do_allocate(std::size_t bytes) = 0;
  virtual void do_deallocate(void* base, std::size_t bytes) = 0;

 private:
  std::size_t held_ = 0;
};

}  // namespace tally
