// A trace as one self-contained HTML page: the memory timeline stacked by tag with phase bands,
// the reserved line and the peak, the largest blocks live at the peak, and the segment map at
// the peak. No network: styles, data (a JSON island) and the drawing script are inline.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "allocator/event.h"

namespace tally::cli {

// The timeline keeps at most this many points (the largest allocated in each bucket of
// events, so the peak is always one of them); traces with fewer events keep every event.
inline constexpr std::size_t kMaxTimelinePoints = 2000;

// `device` indexes trace.devices; `title` defaults to "tally memory report".
std::string render_html_report(const Trace& trace, std::uint16_t device = 0,
                               std::string_view title = "");

// Throws tally::Error (io_error) when the file cannot be written.
void write_html_report(const Trace& trace, const std::string& path, std::uint16_t device = 0,
                       std::string_view title = "");

}  // namespace tally::cli
