#include "cli/report_html.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "allocator/error.h"
#include "allocator/peak_analysis.h"
#include "allocator/units.h"
#include "cli/report_script.h"
#include "cli/report_timeline.h"

namespace tally::cli {
namespace {

// Beyond these the segment map stops being readable; the largest are kept.
constexpr std::size_t kMaxSegments = 400;
constexpr std::size_t kMaxBlocks = 20000;
constexpr std::size_t kTopBlocks = 20;
constexpr std::size_t kTopScopes = 10;

// Tableau 10: tells nine series apart, also for most colour-blind readers.
constexpr std::array<const char*, kTagCount> kTagColours{"#4e79a7", "#f28e2b", "#e15759",
                                                         "#76b7b2", "#ff9da7", "#59a14f",
                                                         "#edc948", "#b07aa1", "#9c9c9c"};
constexpr std::array<const char*, kPhaseCount> kPhaseColours{
    "#ffffff", "#e3edf8", "#fdebd9", "#e6f2e3", "#fbe1e2", "#efe4ee", "#f3f0d8"};

struct TimelinePoint {
  std::size_t index = 0;  // among the device's events
  std::uint64_t time_ns = 0;
  std::int64_t allocated = 0;
  std::int64_t reserved = 0;  // the bucket's largest, so the reserved peak is kept too
  std::array<std::int64_t, kTagCount> by_tag{};
};

struct PhaseBand {
  Phase phase;
  std::size_t begin, end;  // event indices, end exclusive
};

struct PageData {
  std::size_t events = 0;
  PeakSnapshot peak;
  std::size_t peak_index = 0;
  std::uint64_t peak_time_ns = 0;
  std::array<bool, kTagCount> used{};
  std::vector<TimelinePoint> points;
  std::vector<PhaseBand> bands;
  std::vector<LiveBlock> live_at_peak;
  std::vector<Segment> segments_at_peak;
};

// Gives each bucket the phase most of its events ran in, then joins equal neighbours.
void close_bucket(std::array<std::size_t, kPhaseCount>& counts, std::size_t begin, std::size_t end,
                  std::vector<PhaseBand>& bands) {
  const auto most = std::max_element(counts.begin(), counts.end()) - counts.begin();
  const auto phase = static_cast<Phase>(most);
  counts.fill(0);
  if (!bands.empty() && bands.back().phase == phase && bands.back().end == begin) {
    bands.back().end = end;
  } else {
    bands.push_back({phase, begin, end});
  }
}

PageData collect(const Trace& trace, std::uint16_t device) {
  PageData d;
  d.events = count_events(trace, device);
  d.peak = find_peak(trace, device);
  const std::size_t bucket =
      std::max<std::size_t>(1, (d.events + kMaxTimelinePoints - 1) / kMaxTimelinePoints);
  MemoryReplay replay;
  TimelinePoint best;
  std::array<std::size_t, kPhaseCount> phase_counts{};
  std::size_t i = 0;
  for (const Event& e : trace.events) {
    if (e.device != device) continue;
    replay.apply(e);
    const MemoryState& now = replay.state();
    if (i % bucket == 0 || now.allocated > best.allocated) {
      const std::int64_t reserved = i % bucket == 0 ? 0 : best.reserved;
      best = {i, e.time_ns, now.allocated, reserved, now.allocated_by_tag};
    }
    best.reserved = std::max(best.reserved, now.reserved);
    ++phase_counts[static_cast<std::size_t>(e.phase)];
    for (std::size_t t = 0; t < kTagCount; ++t)
      d.used[t] = d.used[t] || now.allocated_by_tag[t] != 0;
    if (d.peak.found && e.seq == d.peak.seq) {
      d.peak_index = i;
      d.peak_time_ns = e.time_ns;
      d.live_at_peak = replay.live_blocks();
      d.segments_at_peak = replay.segments();
    }
    ++i;
    if (i % bucket == 0 || i == d.events) {
      d.points.push_back(best);
      close_bucket(phase_counts, i - 1 - (i - 1) % bucket, i, d.bands);
    }
  }
  return d;
}

std::string escape_html(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// JSON inside <script> ends at the first "</script>"; escaping '<', '>' and '&' (which can only
// occur inside JSON strings) keeps the island inert whatever scope names a trace holds. Bytes
// that are not UTF-8 in a name become U+FFFD rather than failing the report.
std::string json_for_script(const nlohmann::json& j) {
  std::string out;
  for (char c : j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) {
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else {
      out += c;
    }
  }
  return out;
}

std::string bytes(std::int64_t n) {
  return format_bytes(static_cast<std::size_t>(std::max<std::int64_t>(n, 0)));
}

std::string milliseconds(std::uint64_t ns) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f ms", static_cast<double>(ns) / 1e6);
  return text;
}

std::string hex(std::uint64_t address) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(address));
  return text;
}

std::string scope_label(const std::string& scope) {
  return scope.empty() ? "(no module)" : scope;
}

std::string swatch(Tag tag) {
  const std::string name(tag_name(tag));
  return "<span class=\"swatch tag-" + name + "\"></span>" + name;
}

// The segment map: the largest segments, shown by address, and the blocks that lie inside them.
void add_segment_map(const PageData& d, nlohmann::json& j) {
  std::vector<Segment> segments = d.segments_at_peak;
  std::stable_sort(segments.begin(), segments.end(),
                   [](const Segment& a, const Segment& b) { return a.size > b.size; });
  if (segments.size() > kMaxSegments) segments.resize(kMaxSegments);
  std::sort(segments.begin(), segments.end(),
            [](const Segment& a, const Segment& b) { return a.address < b.address; });
  std::vector<std::int64_t> live(segments.size(), 0);
  nlohmann::json blocks = nlohmann::json::array();
  nlohmann::json scopes = nlohmann::json::array();
  std::unordered_map<ScopeId, std::size_t> scope_index;
  for (const LiveBlock& b : d.live_at_peak) {
    const auto after = std::upper_bound(
        segments.begin(), segments.end(), b.address,
        [](std::uint64_t address, const Segment& s) { return address < s.address; });
    if (after == segments.begin()) continue;
    const Segment& s = *(after - 1);
    if (b.address + static_cast<std::uint64_t>(b.allocated) >
        s.address + static_cast<std::uint64_t>(s.size)) {
      continue;
    }
    const auto si = static_cast<std::size_t>(after - 1 - segments.begin());
    live[si] += b.allocated;
    if (blocks.size() >= kMaxBlocks) continue;
    const auto [it, added] = scope_index.emplace(b.scope, scopes.size());
    if (added) scopes.push_back(scope_label(scope_name(b.scope)));
    blocks.push_back(
        {si, b.address - s.address, b.allocated, std::string(tag_name(b.tag)), it->second});
  }
  nlohmann::json segment_rows = nlohmann::json::array();
  for (std::size_t si = 0; si < segments.size(); ++si) {
    segment_rows.push_back({hex(segments[si].address), segments[si].size, live[si]});
  }
  j["segments"] = std::move(segment_rows);
  j["segments_total"] = d.segments_at_peak.size();
  j["blocks"] = std::move(blocks);
  j["scopes"] = std::move(scopes);
}

nlohmann::json page_json(const PageData& d, const Trace& trace, std::uint16_t device) {
  nlohmann::json j;
  j["device"] = device < trace.devices.size() ? trace.devices[device] : "";
  j["events"] = d.events;
  nlohmann::json tags = nlohmann::json::array();
  for (Tag tag : kAllTags) {
    if (d.used[index_of(tag)]) tags.push_back(std::string(tag_name(tag)));
  }
  j["tags"] = tags;
  nlohmann::json points = nlohmann::json::array();
  for (const TimelinePoint& p : d.points) {
    nlohmann::json row = {p.index, p.time_ns, p.reserved};
    for (Tag tag : kAllTags) {
      if (d.used[index_of(tag)]) row.push_back(p.by_tag[index_of(tag)]);
    }
    points.push_back(std::move(row));
  }
  j["points"] = std::move(points);
  nlohmann::json bands = nlohmann::json::array();
  for (const PhaseBand& b : d.bands) {
    if (b.phase != Phase::none) bands.push_back({std::string(phase_name(b.phase)), b.begin, b.end});
  }
  j["phases"] = std::move(bands);
  j["peak"] = nullptr;
  if (d.peak.found) {
    j["peak"] = {{"index", d.peak_index},       {"seq", d.peak.seq},
                 {"time_ns", d.peak_time_ns},   {"allocated", d.peak.allocated},
                 {"reserved", d.peak.reserved}, {"phase", std::string(phase_name(d.peak.phase))},
                 {"scope", d.peak.scope}};
  }
  add_segment_map(d, j);
  return j;
}

std::string stylesheet() {
  std::string css = R"(
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;padding:0 16px;color:#222;
max-width:1100px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 6px}
.sub,.note{color:#666}
table{border-collapse:collapse;margin:6px 0}
th,td{padding:2px 12px 2px 0;text-align:left;border-bottom:1px solid #eee;vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.chart{width:100%;height:auto;display:block}
.swatch{display:inline-block;width:11px;height:11px;margin-right:5px;vertical-align:-1px}
.legend span.item{margin-right:14px;white-space:nowrap}
.line-swatch{display:inline-block;width:16px;height:0;border-top:2px solid #222;margin-right:5px;
vertical-align:3px}
.peak-swatch{border-top:2px dashed #d62728}
.tag-area{stroke:none}
.reserved-line{fill:none;stroke:#222;stroke-width:1.3}
.peak-marker{stroke:#d62728;stroke-width:1.6;stroke-dasharray:5 3}
.peak-label{fill:#d62728;font-size:12px;font-weight:600}
.axis{font-size:11px;fill:#555}.grid{stroke:#e6e6e6;stroke-width:1}
.cursor{stroke:#777;stroke-width:.8;pointer-events:none}
.segment{fill:#f4f4f4;stroke:#aaa;stroke-width:.6}
.selection{fill:rgba(80,120,200,.15);stroke:#5078c8;stroke-width:.6;pointer-events:none}
#timeline{cursor:crosshair;user-select:none}
#readout{font-size:12px;color:#444;min-height:1.5em;font-variant-numeric:tabular-nums}
)";
  for (Tag tag : kAllTags) {
    const std::string colour = kTagColours[index_of(tag)];
    css +=
        ".tag-" + std::string(tag_name(tag)) + "{fill:" + colour + ";background:" + colour + "}\n";
  }
  for (std::size_t p = 1; p < kPhaseCount; ++p) {
    css += ".phase-" + std::string(phase_name(static_cast<Phase>(p))) +
           "{fill:" + kPhaseColours[p] + ";background:" + kPhaseColours[p] + "}\n";
  }
  return css;
}

void write_summary(std::ostringstream& out, const PageData& d) {
  out << "<table>\n";
  auto row = [&](const std::string& label, const std::string& value) {
    out << "<tr><th>" << label << "</th><td class=\"num\">" << value << "</td></tr>\n";
  };
  row("peak allocated", bytes(d.peak.allocated));
  row("peak reserved", bytes(d.peak.peak_reserved));
  row("peak requested", bytes(d.peak.peak_requested));
  out << "</table>\n";
  if (!d.peak.found) {
    out << "<p class=\"note\">No allocations on this device.</p>\n";
    return;
  }
  out << "<p>Peak reached during <b>" << phase_name(d.peak.phase) << "</b> in <b>"
      << escape_html(scope_label(d.peak.scope)) << "</b> (trace event " << d.peak.seq << ", "
      << milliseconds(d.peak_time_ns) << "), with " << bytes(d.peak.reserved)
      << " reserved.</p>\n<table>\n<tr><th>by tag at peak</th><th class=\"num\">allocated</th>"
      << "<th class=\"num\">requested</th></tr>\n";
  for (Tag tag : kAllTags) {
    const TagBytes& b = d.peak.by_tag[index_of(tag)];
    if (b.allocated == 0) continue;
    out << "<tr><td>" << swatch(tag) << "</td><td class=\"num\">" << bytes(b.allocated)
        << "</td><td class=\"num\">" << bytes(b.requested) << "</td></tr>\n";
  }
  out << "<tr><th>total</th><td class=\"num\">" << bytes(d.peak.allocated)
      << "</td><td class=\"num\">" << bytes(d.peak.requested) << "</td></tr>\n</table>\n";
}

void write_legend(std::ostringstream& out, const PageData& d) {
  out << "<div class=\"legend\">";
  for (Tag tag : kAllTags) {
    if (d.used[index_of(tag)]) out << "<span class=\"item\">" << swatch(tag) << "</span>";
  }
  out << "<span class=\"item\"><span class=\"line-swatch\"></span>reserved</span>"
      << "<span class=\"item\"><span class=\"line-swatch peak-swatch\"></span>peak</span>";
  for (std::size_t p = 1; p < kPhaseCount; ++p) {
    const std::string name(phase_name(static_cast<Phase>(p)));
    const bool present = std::any_of(d.bands.begin(), d.bands.end(), [&](const PhaseBand& b) {
      return b.phase == static_cast<Phase>(p);
    });
    if (present) {
      out << "<span class=\"item\"><span class=\"swatch phase-" << name << "\"></span>" << name
          << " phase</span>";
    }
  }
  out << "</div>\n";
}

void write_peak_tables(std::ostringstream& out, const PageData& d) {
  if (!d.peak.found) return;
  out << "<h2>Largest blocks live at the peak</h2>\n<table>\n<tr><th class=\"num\">allocated"
         "</th><th class=\"num\">requested</th><th>tag</th><th>scope</th><th>phase</th>"
         "<th class=\"num\">event</th></tr>\n";
  for (std::size_t i = 0; i < d.live_at_peak.size() && i < kTopBlocks; ++i) {
    const LiveBlock& b = d.live_at_peak[i];
    out << "<tr><td class=\"num\">" << bytes(b.allocated) << "</td><td class=\"num\">"
        << bytes(b.requested) << "</td><td>" << swatch(b.tag) << "</td><td>"
        << escape_html(scope_label(scope_name(b.scope))) << "</td><td>" << phase_name(b.phase)
        << "</td><td class=\"num\">" << b.seq << "</td></tr>\n";
  }
  out << "</table>\n<p class=\"note\">" << d.live_at_peak.size()
      << " blocks live at the peak.</p>\n"
      << "<h2>Top scopes at the peak</h2>\n<table>\n<tr><th>scope</th><th class=\"num\">"
         "allocated</th></tr>\n";
  for (std::size_t i = 0; i < d.peak.by_scope.size() && i < kTopScopes; ++i) {
    out << "<tr><td>" << escape_html(scope_label(d.peak.by_scope[i].first))
        << "</td><td class=\"num\">" << bytes(d.peak.by_scope[i].second) << "</td></tr>\n";
  }
  out << "</table>\n";
}

}  // namespace

std::string render_html_report(const Trace& trace, std::uint16_t device, std::string_view title) {
  const PageData d = collect(trace, device);
  const std::string heading = escape_html(title.empty() ? "tally memory report" : title);
  const std::string device_name = device < trace.devices.size() ? trace.devices[device] : "none";
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>"
      << heading << "</title>\n<style>" << stylesheet() << "</style>\n</head>\n<body>\n<h1>"
      << heading << "</h1>\n<p class=\"sub\">device " << escape_html(device_name) << ", "
      << d.events << " allocator events</p>\n";
  write_summary(out, d);
  out << "<h2>Memory timeline</h2>\n";
  write_legend(out, d);
  out << "<svg id=\"timeline\" class=\"chart\" viewBox=\"0 0 1000 340\" role=\"img\" "
         "aria-label=\"allocated bytes by tag over the trace\"></svg>\n"
      << "<div id=\"readout\"></div>\n<p class=\"note\">Allocated bytes stacked by tag after "
         "each allocator event (at most "
      << kMaxTimelinePoints
      << " points: the largest in each run of events), the reserved line, and the phases "
         "shaded behind. Drag across it to zoom in, double-click to zoom out.</p>\n";
  write_peak_tables(out, d);
  out << "<h2>Segment map at the peak</h2>\n"
      << "<svg id=\"segments\" class=\"chart\" viewBox=\"0 0 1000 20\" role=\"img\" "
         "aria-label=\"reserved segments and their live blocks at the peak\"></svg>\n"
      << "<p class=\"note\" id=\"segments-note\"></p>\n"
      << "<noscript><p>The timeline and the segment map are drawn by this page's script."
         "</p></noscript>\n"
      << "<script type=\"application/json\" id=\"tally-data\">"
      << json_for_script(page_json(d, trace, device)) << "</script>\n<script>" << kReportScript
      << "</script>\n</body>\n</html>\n";
  return out.str();
}

void write_html_report(const Trace& trace, const std::string& path, std::uint16_t device,
                       std::string_view title) {
  const std::string page = render_html_report(trace, device, title);
  std::ofstream out(path, std::ios::binary);
  if (!out) throw DataError("cannot write report to '" + path + "'");
  out << page;
  if (!out.flush()) throw DataError("failed writing report to '" + path + "'");
}

}  // namespace tally::cli
