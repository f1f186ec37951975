#include "allocator/size_bins.h"

#include <algorithm>

#include "allocator/error.h"

namespace tally {

SizeBins::SizeBins(std::size_t granule, std::size_t bins)
    : granule_shift_(static_cast<unsigned>(std::countr_zero(granule))), heaps_(bins) {
  TALLY_CHECK(std::has_single_bit(granule), "SizeBins needs a power-of-two granule");
  TALLY_CHECK(bins > 0 && bins <= 64 * 64, "SizeBins holds at most 4096 bins");
}

void SizeBins::grow_positions(std::uint32_t id) {
  position_.resize(std::max<std::size_t>(std::size_t{id} + 1, 2 * position_.size()));
}

// Puts `entry` into the slot `pos` left by an erase: up if it is below its parent, else down
// past any smaller child.
void SizeBins::refill(std::vector<Entry>& heap, std::size_t pos, Entry entry) {
  if (pos > 0 && heap[(pos - 1) >> 2].order > entry.order) {
    sift_up(heap, pos, entry);
    return;
  }
  while (4 * pos + 1 < heap.size()) {
    const Entry& child = min_child(heap, pos);
    if (entry.order <= child.order) break;
    const std::size_t next = position_[child.id];
    put(heap, pos, child);
    pos = next;
  }
  put(heap, pos, entry);
}

void SizeBins::settle(std::vector<Entry>& heap) {
  const Entry last = heap.back();
  heap.pop_back();
  refill(heap, 0, last);
}

std::size_t SizeBins::largest() const {
  if (summary_ == 0) return 0;
  const std::size_t w = 63 - static_cast<std::size_t>(std::countl_zero(summary_));
  const std::size_t b = 64 * w + 63 - static_cast<std::size_t>(std::countl_zero(words_[w]));
  return (b + 1) << granule_shift_;
}

}  // namespace tally
