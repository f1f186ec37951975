// A trace replayed one event at a time for `tally report`: the memory state after each event,
// the blocks and segments live at any moment. The HTML page, the Perfetto export and the text
// breakdown all draw from it, so that they agree with each other and with find_peak().
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "allocator/event.h"

namespace tally::cli {

struct MemoryState {
  std::array<std::int64_t, kTagCount> allocated_by_tag{};
  std::int64_t allocated = 0;
  std::int64_t requested = 0;
  std::int64_t reserved = 0;
};

struct LiveBlock {
  std::uint64_t address = 0;
  std::uint64_t seq = 0;  // of the alloc event
  std::int64_t requested = 0;
  std::int64_t allocated = 0;
  Tag tag = Tag::other;
  ScopeId scope = 0;
  Phase phase = Phase::none;
};

struct Segment {
  std::uint64_t address = 0;
  std::int64_t size = 0;
};

// Feed it one device's events in order. Frees and retags of unknown blocks are ignored, as
// find_peak() ignores them, so a trace that starts mid-run still replays.
class MemoryReplay {
 public:
  void apply(const Event& e);
  const MemoryState& state() const { return state_; }
  std::vector<LiveBlock> live_blocks() const;  // largest first, then by address
  std::vector<Segment> segments() const;       // by address

 private:
  MemoryState state_;
  std::unordered_map<std::uint64_t, LiveBlock> live_;
  std::map<std::uint64_t, std::int64_t> segments_;
};

// The blocks live just after the event numbered `seq` (largest first); none if it is absent.
std::vector<LiveBlock> live_after(const Trace& trace, std::uint16_t device, std::uint64_t seq);

std::size_t count_events(const Trace& trace, std::uint16_t device);

// The index of a device named in the trace; "" names the first. Throws tally::Error
// (invalid_argument) for a name the trace does not hold.
std::uint16_t find_device(const Trace& trace, std::string_view name);

}  // namespace tally::cli
