// Records by dense 32-bit slot, freed slots reused: what a strategy keeps in a Block's `handle`,
// so that a free finds its record without a lookup by address.
#pragma once

#include <cstdint>
#include <vector>

#include "allocator/error.h"

namespace tally {

template <typename T>
class SlotTable {
 public:
  std::uint32_t add(const T& value) {
    if (!spare_.empty()) {
      const std::uint32_t slot = spare_.back();
      spare_.pop_back();
      values_[slot] = value;
      return slot;
    }
    TALLY_CHECK(values_.size() < UINT32_MAX, "too many blocks");
    values_.push_back(value);
    return static_cast<std::uint32_t>(values_.size() - 1);
  }
  void remove(std::uint32_t slot) { spare_.push_back(slot); }
  T& operator[](std::uint32_t slot) { return values_[slot]; }
  const T& operator[](std::uint32_t slot) const { return values_[slot]; }
  // Slots ever used, the removed ones included.
  std::uint32_t size() const { return static_cast<std::uint32_t>(values_.size()); }

 private:
  std::vector<T> values_;
  std::vector<std::uint32_t> spare_;
};

}  // namespace tally
