#include "allocator/replay.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <unordered_map>
#include <vector>

#include "allocator/device_allocator.h"
#include "allocator/error.h"
#include "allocator/virtual_backing.h"

namespace tally {
namespace {

[[noreturn]] void bad_event(const Event& e, const std::string& problem) {
  throw Error(ErrorKind::data, "replay", "bad_trace",
              "replay: event " + std::to_string(e.seq) + " (" + std::string(action_name(e.action)) +
                  " at " + std::to_string(e.address) + "): " + problem);
}

double percentile(std::vector<double>& samples, double p) {
  if (samples.empty()) return 0.0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(samples.size() - 1));
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(k),
                   samples.end());
  return samples[k];
}

double nanoseconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

ReplayResult replay(const Trace& trace, const AllocatorConfig& config, std::size_t capacity) {
  AllocatorConfig unrecorded = config;
  unrecorded.record = false;
  DeviceAllocator allocator(std::make_unique<VirtualBacking>(capacity), unrecorded);
  const std::string& strategy = config.strategy;
  std::unordered_map<std::uint64_t, Allocation> live;  // by the trace's block address
  std::vector<double> alloc_ns;
  std::vector<double> free_ns;
  ReplayResult r{strategy};
  std::int64_t live_requested = 0;
  for (const Event& e : trace.events) {
    switch (e.action) {
      case Action::alloc: {
        if (live.count(e.address)) bad_event(e, "allocates a block that is already live");
        const auto start = std::chrono::steady_clock::now();
        live[e.address] = allocator.allocate(e.requested, e.tag.value_or(Tag::other), e.stream);
        alloc_ns.push_back(nanoseconds_since(start));
        live_requested += static_cast<std::int64_t>(e.requested);
        r.lower_bound = std::max(r.lower_bound, live_requested);
        break;
      }
      case Action::free: {
        const auto it = live.find(e.address);
        if (it == live.end()) bad_event(e, "frees a block that is not live");
        live_requested -= static_cast<std::int64_t>(it->second.requested);
        const auto start = std::chrono::steady_clock::now();
        allocator.deallocate(it->second);
        free_ns.push_back(nanoseconds_since(start));
        live.erase(it);
        break;
      }
      case Action::retag: {
        const auto it = live.find(e.address);
        if (it == live.end()) bad_event(e, "retags a block that is not live");
        allocator.retag(it->second, e.tag.value_or(Tag::other));
        break;
      }
      default:
        continue;
    }
    ++r.events;
    const AllocatorStats s = allocator.stats();
    const auto held = static_cast<std::int64_t>(allocator.cache_state().free_bytes);
    if (s.reserved_bytes.current != s.total.allocated_bytes.current + held) {
      bad_event(e, strategy + " holds " + std::to_string(s.reserved_bytes.current) +
                       " reserved bytes, not allocated " +
                       std::to_string(s.total.allocated_bytes.current) + " + cached " +
                       std::to_string(held));
    }
  }
  for (const auto& [address, block] : live) allocator.deallocate(block);
  const AllocatorStats s = allocator.stats();
  r.peak_reserved = s.reserved_bytes.peak;
  r.peak_allocated = s.total.allocated_bytes.peak;
  r.segment_allocs = s.segment.allocated;
  r.segment_frees = s.segment.freed;
  r.alloc_p50_ns = percentile(alloc_ns, 0.50);
  r.alloc_p99_ns = percentile(alloc_ns, 0.99);
  r.free_p50_ns = percentile(free_ns, 0.50);
  r.free_p99_ns = percentile(free_ns, 0.99);
  return r;
}

ReplayResult replay(const Trace& trace, const std::string& strategy, const StrategyOptions& options,
                    std::size_t capacity) {
  AllocatorConfig config;
  config.strategy = strategy;
  config.strategy_options = options;
  return replay(trace, config, capacity);
}

}  // namespace tally
