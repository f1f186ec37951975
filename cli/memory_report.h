// The memory report printed after training and estimating: peaks, what was live at the peak by
// tag, by module and by library (scopes such as "(cublas)", allocator/scope.h), and
// fragmentation; as text and as JSON. Every figure comes from a trace's PeakSnapshot.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "allocator/peak_analysis.h"

namespace tally::cli {

// `title` heads the block.
std::string format_memory_report(const PeakSnapshot& peak, const std::string& title = "memory",
                                 std::size_t top_modules = 5);

// Keys: peak_allocated_bytes, peak_reserved_bytes, peak_requested_bytes, peak_phase,
// peak_scope, fragmentation, by_tag_at_peak {tag: {allocated_bytes, requested_bytes}},
// top_modules_at_peak [{scope, allocated_bytes}] (modules only), libraries_at_peak [{scope,
// allocated_bytes}] (every library scope live at the peak).
nlohmann::json memory_report_json(const PeakSnapshot& peak, std::size_t top_modules = 5);

// tally train's evaluation, apart from its training steps (find_run_peaks): a short block.
std::string format_evaluation_peaks(const PeakSnapshot& evaluation);

}  // namespace tally::cli
