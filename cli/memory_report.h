// The memory report printed after training: peaks, what was live at the peak by tag and by
// module, and fragmentation; as text and as JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "allocator/peak_analysis.h"
#include "allocator/stats.h"

namespace tally::cli {

std::string format_memory_report(const AllocatorStats& stats, const PeakSnapshot& peak,
                                 std::size_t top_modules = 5);

// Keys: peak_allocated_bytes, peak_reserved_bytes, peak_requested_bytes, peak_phase,
// peak_scope, fragmentation, by_tag_at_peak {tag: {allocated_bytes, requested_bytes}},
// top_modules_at_peak [{scope, allocated_bytes}].
nlohmann::json memory_report_json(const AllocatorStats& stats, const PeakSnapshot& peak,
                                  std::size_t top_modules = 5);

}  // namespace tally::cli
