#include "cli/report_timeline.h"

#include <algorithm>
#include <string>

#include "allocator/error.h"

namespace tally::cli {

void MemoryReplay::apply(const Event& e) {
  switch (e.action) {
    case Action::alloc: {
      const LiveBlock block{e.address,
                            e.seq,
                            static_cast<std::int64_t>(e.requested),
                            static_cast<std::int64_t>(e.allocated),
                            e.tag.value_or(Tag::other),
                            e.scope,
                            e.phase};
      live_[e.address] = block;
      state_.allocated += block.allocated;
      state_.requested += block.requested;
      state_.allocated_by_tag[index_of(block.tag)] += block.allocated;
      break;
    }
    case Action::free: {
      const auto it = live_.find(e.address);
      if (it == live_.end()) break;
      state_.allocated -= it->second.allocated;
      state_.requested -= it->second.requested;
      state_.allocated_by_tag[index_of(it->second.tag)] -= it->second.allocated;
      live_.erase(it);
      break;
    }
    case Action::retag: {
      const auto it = live_.find(e.address);
      if (it == live_.end() || !e.tag) break;
      state_.allocated_by_tag[index_of(it->second.tag)] -= it->second.allocated;
      it->second.tag = *e.tag;
      state_.allocated_by_tag[index_of(it->second.tag)] += it->second.allocated;
      break;
    }
    case Action::segment_alloc:
      segments_[e.address] = static_cast<std::int64_t>(e.allocated);
      state_.reserved += static_cast<std::int64_t>(e.allocated);
      break;
    case Action::segment_free: {
      const auto it = segments_.find(e.address);
      if (it == segments_.end()) break;
      state_.reserved -= it->second;
      segments_.erase(it);
      break;
    }
    case Action::oom:
      break;
  }
}

std::vector<LiveBlock> MemoryReplay::live_blocks() const {
  std::vector<LiveBlock> blocks;
  blocks.reserve(live_.size());
  for (const auto& [address, block] : live_) blocks.push_back(block);
  std::sort(blocks.begin(), blocks.end(), [](const LiveBlock& a, const LiveBlock& b) {
    return a.allocated != b.allocated ? a.allocated > b.allocated : a.address < b.address;
  });
  return blocks;
}

std::vector<Segment> MemoryReplay::segments() const {
  std::vector<Segment> out;
  out.reserve(segments_.size());
  for (const auto& [address, size] : segments_) out.push_back({address, size});
  return out;
}

std::vector<LiveBlock> live_after(const Trace& trace, std::uint16_t device, std::uint64_t seq) {
  MemoryReplay replay;
  for (const Event& e : trace.events) {
    if (e.device != device) continue;
    replay.apply(e);
    if (e.seq == seq) return replay.live_blocks();
  }
  return {};
}

std::size_t count_events(const Trace& trace, std::uint16_t device) {
  return static_cast<std::size_t>(
      std::count_if(trace.events.begin(), trace.events.end(),
                    [&](const Event& e) { return e.device == device; }));
}

std::uint16_t find_device(const Trace& trace, std::string_view name) {
  if (name.empty()) return 0;
  const auto it = std::find(trace.devices.begin(), trace.devices.end(), name);
  if (it == trace.devices.end()) {
    std::string known;
    for (const std::string& d : trace.devices) known += (known.empty() ? "" : ", ") + d;
    throw UsageError("the trace has no device '" + std::string(name) +
                     "' (it has: " + (known.empty() ? "none" : known) + ")");
  }
  return static_cast<std::uint16_t>(it - trace.devices.begin());
}

}  // namespace tally::cli
