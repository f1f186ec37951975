#include "allocator/peak_analysis.h"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace tally {
namespace {

struct LiveBlock {
  std::int64_t requested;
  std::int64_t allocated;
  Tag tag;
  ScopeId scope;
};

// Replays events up to and including `stop` (or all), calling at_event after each.
template <typename Visit>
void replay(const Trace& trace, std::uint16_t device,
            std::unordered_map<std::uint64_t, LiveBlock>& live, PeakSnapshot& totals,
            Visit&& at_event) {
  for (const Event& e : trace.events) {
    if (e.device != device) continue;
    switch (e.action) {
      case Action::alloc: {
        const auto requested = static_cast<std::int64_t>(e.requested);
        const auto allocated = static_cast<std::int64_t>(e.allocated);
        const Tag tag = e.tag.value_or(Tag::other);
        live[e.address] = {requested, allocated, tag, e.scope};
        totals.requested += requested;
        totals.allocated += allocated;
        totals.by_tag[index_of(tag)].requested += requested;
        totals.by_tag[index_of(tag)].allocated += allocated;
        break;
      }
      case Action::free: {
        const auto it = live.find(e.address);
        if (it == live.end()) break;
        const LiveBlock& b = it->second;
        totals.requested -= b.requested;
        totals.allocated -= b.allocated;
        totals.by_tag[index_of(b.tag)].requested -= b.requested;
        totals.by_tag[index_of(b.tag)].allocated -= b.allocated;
        live.erase(it);
        break;
      }
      case Action::retag: {
        const auto it = live.find(e.address);
        if (it == live.end() || !e.tag) break;
        LiveBlock& b = it->second;
        totals.by_tag[index_of(b.tag)].requested -= b.requested;
        totals.by_tag[index_of(b.tag)].allocated -= b.allocated;
        b.tag = *e.tag;
        totals.by_tag[index_of(b.tag)].requested += b.requested;
        totals.by_tag[index_of(b.tag)].allocated += b.allocated;
        break;
      }
      case Action::segment_alloc:
        totals.reserved += static_cast<std::int64_t>(e.allocated);
        break;
      case Action::segment_free:
        totals.reserved -= static_cast<std::int64_t>(e.allocated);
        break;
      case Action::oom:
        break;
    }
    if (!at_event(e)) return;
  }
}

}  // namespace

PeakSnapshot find_peak(const Trace& trace, std::uint16_t device, EventRange range) {
  // First pass: where the peak is.
  PeakSnapshot scan;
  std::unordered_map<std::uint64_t, LiveBlock> live;
  std::int64_t best = -1;
  std::uint64_t best_seq = 0;
  replay(trace, device, live, scan, [&](const Event& e) {
    if (!range.holds(e.seq)) return true;
    if (e.action == Action::alloc && scan.allocated > best) {
      best = scan.allocated;
      best_seq = e.seq;
    }
    scan.peak_requested = std::max(scan.peak_requested, scan.requested);
    scan.peak_reserved = std::max(scan.peak_reserved, scan.reserved);
    return true;
  });
  PeakSnapshot peak;
  peak.peak_requested = scan.peak_requested;
  peak.peak_reserved = scan.peak_reserved;
  if (best < 0) return peak;

  // Second pass: the state at that event.
  live.clear();
  replay(trace, device, live, peak, [&](const Event& e) {
    if (e.seq != best_seq) return true;
    peak.found = true;
    peak.seq = e.seq;
    peak.phase = e.phase;
    peak.scope = scope_name(e.scope);
    return false;
  });
  std::map<std::string, std::int64_t> by_scope;
  for (const auto& [address, block] : live) by_scope[scope_name(block.scope)] += block.allocated;
  peak.by_scope.assign(by_scope.begin(), by_scope.end());
  std::stable_sort(peak.by_scope.begin(), peak.by_scope.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return peak;
}

RunPeaks find_run_peaks(const Trace& trace, std::uint16_t device) {
  EventRange evaluation{UINT64_MAX, UINT64_MAX};
  for (const Event& e : trace.events) {
    if (e.device != device || e.phase != Phase::eval) continue;
    evaluation.first = std::min(evaluation.first, e.seq);
    evaluation.end = e.seq + 1;
  }
  return {find_peak(trace, device, {0, evaluation.first}), find_peak(trace, device, evaluation)};
}

}  // namespace tally
