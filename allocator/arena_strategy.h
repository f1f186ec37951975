// Bump allocation with a bulk reset, llm.c's one-buffer model: each stream bumps through its
// current segment (20 MiB, or the request rounded up to 2 MiB when larger); a free lowers its
// segment's count of live blocks (and gives the bytes back to the bump pointer when it is the
// last block bumped), and when that count reaches zero the whole segment is reset at once and
// cached, empty, for reuse before any new segment is acquired.
//
// The holes that frees leave in a segment that still has a live block are not reused until
// that reset. That is the arena's nature: ideal when lifetimes are step-scoped (everything of a
// step freed together), wasteful when they are mixed, where one long-lived block pins its whole
// segment.
#pragma once

#include <compare>
#include <set>
#include <vector>

#include "allocator/segment_table.h"
#include "allocator/strategy.h"
#include "allocator/units.h"

namespace tally {

class ArenaStrategy final : public Strategy {
 public:
  static constexpr std::size_t kAlignment = 512;
  static constexpr std::size_t kMinSegment = 20 * MiB;
  static constexpr std::size_t kSegmentRound = 2 * MiB;

  explicit ArenaStrategy(SegmentSource& source) : source_(source) {}
  ~ArenaStrategy() override;

  std::string_view name() const override { return "arena"; }
  // Rounded up to 512 bytes.
  std::size_t block_size(std::size_t bytes) const override;
  Block allocate(std::size_t bytes, StreamId stream) override;
  void deallocate(const Block& block) override;
  void release_cached() override;
  // The largest unused tail of a stream's current segment, or the largest empty segment.
  std::size_t largest_free_block() const override;

 private:
  static constexpr std::uint32_t kNone = UINT32_MAX;

  struct Segment {
    std::uintptr_t base;
    std::size_t size;
    std::size_t top;         // the bump offset: bytes below it were handed out since the reset
    std::size_t live_bytes;  // bytes in live blocks
    std::uint32_t live;      // live blocks
    std::uint32_t freed;     // blocks freed since the reset: the holes
    std::uint32_t pool;
    std::uint32_t age;
    bool held;
  };
  // Empty segments, for best fit: the smallest that holds the request, then the oldest.
  struct EmptyKey {
    std::size_t size;
    std::uint32_t age;
    std::uint32_t slot;
    auto operator<=>(const EmptyKey&) const = default;
  };
  struct Pool {
    std::uint32_t current = kNone;
    std::set<EmptyKey> empty;  // not the current one, which may be empty too
  };

  Block bump(std::uint32_t slot, std::size_t size);
  void count_split(const Segment& segment, bool add);

  SegmentSource& source_;
  SegmentTable<Segment> segments_;
  StreamIndex streams_;
  std::vector<Pool> pools_;
};

}  // namespace tally
