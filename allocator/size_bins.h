// Free blocks binned by exact size, for best fit in O(1): one bin per multiple of the granule,
// a two-level bitmap to find the first non-empty bin at or above a size, and within a bin a
// 4-ary min-heap by the caller's order (a block's position) so that equal sizes are taken
// lowest first. The heap is
// 4-ary for half the levels of a binary one, with a node's four children in one cache line.
//
// Taking the lowest block and giving it back (allocate, free, allocate the same size again) is
// the commonest pattern of all, so taking the root leaves it vacant instead of re-heaping: a
// block no higher than the root's children refills it in O(1), and anything else first settles
// the vacancy the usual way. Every call sits on the allocator's hot path; the common cases are
// inline.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace tally {

class SizeBins {
 public:
  // At most 64 * 64 bins: sizes granule, 2 * granule, ..., bins * granule. The granule is a
  // power of two, so that finding a bin is a shift rather than a division.
  SizeBins(std::size_t granule, std::size_t bins);

  struct alignas(16) Entry {
    std::uint64_t order;
    std::uint32_t id;
  };

  // `id` is the caller's name for the block (dense small integers: they index a table here).
  void insert(std::size_t size, std::uint64_t order, std::uint32_t id) {
    const std::size_t b = bin(size);
    if (id >= position_.size()) grow_positions(id);
    std::vector<Entry>& heap = heaps_[b];
    if (!heap.empty() && heap.front().id == kVacant) {
      if (order <= min_child(heap, 0).order) {
        put(heap, 0, Entry{order, id});
        return;
      }
      settle(heap);
    }
    heap.emplace_back();
    sift_up(heap, heap.size() - 1, Entry{order, id});
    if (heap.size() == 1) {
      words_[b >> 6] |= std::uint64_t{1} << (b & 63);
      summary_ |= std::uint64_t{1} << (b >> 6);
    }
  }

  void erase(std::size_t size, std::uint32_t id) {
    const std::size_t b = bin(size);
    std::vector<Entry>& heap = heaps_[b];
    if (heap.front().id == kVacant) settle(heap);
    const std::size_t pos = position_[id];
    if (pos == 0 && heap.size() > 1) {
      heap.front().id = kVacant;
      return;
    }
    const Entry last = heap.back();
    heap.pop_back();
    if (pos < heap.size()) refill(heap, pos, last);
    if (heap.empty()) {
      words_[b >> 6] &= ~(std::uint64_t{1} << (b & 63));
      if (words_[b >> 6] == 0) summary_ &= ~(std::uint64_t{1} << (b >> 6));
    }
  }

  // The lowest-ordered block of the smallest non-empty bin holding at least `size` bytes.
  std::optional<Entry> best_fit(std::size_t size) const {
    const std::size_t from = bin(size);
    if (from >= heaps_.size()) return std::nullopt;
    const std::size_t w = from >> 6;
    std::uint64_t bits = words_[w] & (~std::uint64_t{0} << (from & 63));
    std::size_t word = w;
    if (bits == 0) {
      const std::uint64_t later = w == 63 ? 0 : summary_ & (~std::uint64_t{0} << (w + 1));
      if (later == 0) return std::nullopt;
      word = static_cast<std::size_t>(std::countr_zero(later));
      bits = words_[word];
    }
    const std::vector<Entry>& heap =
        heaps_[(word << 6) + static_cast<std::size_t>(std::countr_zero(bits))];
    return heap.front().id == kVacant ? min_child(heap, 0) : heap.front();
  }

  // Size of the largest block held, 0 when empty.
  std::size_t largest() const;
  // Calls fn(entry) for every block of one size.
  template <typename Fn>
  void for_each_of(std::size_t size, Fn fn) const {
    for (const Entry& e : heaps_[bin(size)]) {
      if (e.id != kVacant) fn(e);
    }
  }

 private:
  static constexpr std::uint32_t kVacant = UINT32_MAX;

  std::size_t bin(std::size_t size) const { return (size >> granule_shift_) - 1; }
  void put(std::vector<Entry>& heap, std::size_t pos, Entry entry) {
    heap[pos] = entry;
    position_[entry.id] = static_cast<std::uint32_t>(pos);
  }
  // The smallest child of a node that has children.
  static const Entry& min_child(const std::vector<Entry>& heap, std::size_t pos) {
    const std::size_t first = 4 * pos + 1;
    const std::size_t end = first + 4 < heap.size() ? first + 4 : heap.size();
    std::size_t child = first;
    for (std::size_t c = first + 1; c < end; ++c) {
      if (heap[c].order < heap[child].order) child = c;
    }
    return heap[child];
  }

  // Moves `entry` from the free slot `pos` towards the root, past larger orders.
  void sift_up(std::vector<Entry>& heap, std::size_t pos, Entry entry) {
    while (pos > 0) {
      const std::size_t parent = (pos - 1) >> 2;
      if (heap[parent].order <= entry.order) break;
      put(heap, pos, heap[parent]);
      pos = parent;
    }
    put(heap, pos, entry);
  }
  void refill(std::vector<Entry>& heap, std::size_t pos, Entry entry);
  // Fills a vacant root with the last entry, restoring an ordinary heap.
  void settle(std::vector<Entry>& heap);
  void grow_positions(std::uint32_t id);

  unsigned granule_shift_;
  std::vector<std::vector<Entry>> heaps_;
  std::array<std::uint64_t, 64> words_{};  // bit b of word w: bin 64 * w + b is not empty
  std::uint64_t summary_ = 0;              // bit w: word w is not zero
  std::vector<std::uint32_t> position_;    // id -> index in its bin's heap
};

}  // namespace tally
