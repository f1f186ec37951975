#include "cli/memory_report.h"

#include <cstdio>
#include <sstream>
#include <utility>
#include <vector>

#include "allocator/scope.h"
#include "allocator/units.h"

namespace tally::cli {
namespace {

using ScopeBytes = std::vector<std::pair<std::string, std::int64_t>>;

// Reserved over requested bytes at the moment of peak: what the allocator's rounding, segment
// sizes and cache cost on top of what the program asked for.
double fragmentation(const PeakSnapshot& peak) {
  return peak.requested > 0 ? static_cast<double>(peak.reserved) / peak.requested : 0.0;
}

std::string scope_label(const std::string& scope) {
  return scope.empty() ? "(no module)" : scope;
}

// The peak's scopes that are modules (at most `limit`, largest first) or that are libraries
// (all of them).
ScopeBytes scopes_at_peak(const PeakSnapshot& peak, bool libraries, std::size_t limit) {
  ScopeBytes out;
  for (const auto& entry : peak.by_scope) {
    if (out.size() == limit) break;
    if (is_library_scope(entry.first) == libraries) out.push_back(entry);
  }
  return out;
}

std::string row(const std::string& label, const std::string& a, const std::string& b = "") {
  char line[160];
  std::snprintf(line, sizeof line, "  %-28s %14s %14s\n", label.c_str(), a.c_str(), b.c_str());
  return line;
}

std::string bytes(std::int64_t n) {
  return format_bytes(static_cast<std::size_t>(n));
}

std::string peak_rows(const PeakSnapshot& peak) {
  return row("peak allocated", bytes(peak.allocated)) +
         row("peak reserved", bytes(peak.peak_reserved)) +
         row("peak requested", bytes(peak.peak_requested));
}

nlohmann::json scopes_json(const ScopeBytes& scopes) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [scope, allocated] : scopes) {
    out.push_back({{"scope", scope}, {"allocated_bytes", allocated}});
  }
  return out;
}

}  // namespace

std::string format_memory_report(const PeakSnapshot& peak, const std::string& title,
                                 std::size_t top_modules) {
  std::ostringstream out;
  out << title << '\n' << peak_rows(peak);
  if (!peak.found) return out.str();
  char ratio[32];
  std::snprintf(ratio, sizeof ratio, "%.2fx", fragmentation(peak));
  out << "  peak reached during " << phase_name(peak.phase) << " in " << scope_label(peak.scope)
      << " (trace event " << peak.seq << ")\n";
  out << row("fragmentation at peak", ratio, "reserved/requested");
  out << "\n" << row("by tag at peak", "allocated", "requested");
  for (Tag tag : kAllTags) {
    const TagBytes& b = peak.by_tag[index_of(tag)];
    if (b.allocated == 0) continue;
    out << row("  " + std::string(tag_name(tag)), bytes(b.allocated), bytes(b.requested));
  }
  out << row("  total", bytes(peak.allocated), bytes(peak.requested));
  out << "\n" << row("top modules at peak", "allocated");
  for (const auto& [scope, allocated] : scopes_at_peak(peak, false, top_modules)) {
    out << row("  " + scope_label(scope), bytes(allocated));
  }
  const ScopeBytes libraries = scopes_at_peak(peak, true, peak.by_scope.size());
  if (!libraries.empty()) {
    out << "\n" << row("libraries at peak", "allocated");
    for (const auto& [scope, allocated] : libraries) out << row("  " + scope, bytes(allocated));
  }
  return out.str();
}

nlohmann::json memory_report_json(const PeakSnapshot& peak, std::size_t top_modules) {
  nlohmann::json j;
  j["peak_allocated_bytes"] = peak.allocated;
  j["peak_reserved_bytes"] = peak.peak_reserved;
  j["peak_requested_bytes"] = peak.peak_requested;
  j["peak_phase"] = std::string(phase_name(peak.phase));
  j["peak_scope"] = peak.scope;
  j["fragmentation"] = fragmentation(peak);
  nlohmann::json by_tag = nlohmann::json::object();
  for (Tag tag : kAllTags) {
    const TagBytes& b = peak.by_tag[index_of(tag)];
    by_tag[std::string(tag_name(tag))] = {{"allocated_bytes", b.allocated},
                                          {"requested_bytes", b.requested}};
  }
  j["by_tag_at_peak"] = by_tag;
  j["top_modules_at_peak"] = scopes_json(scopes_at_peak(peak, false, top_modules));
  j["libraries_at_peak"] = scopes_json(scopes_at_peak(peak, true, peak.by_scope.size()));
  return j;
}

std::string format_evaluation_peaks(const PeakSnapshot& evaluation) {
  std::string out = "evaluation\n" + peak_rows(evaluation);
  if (evaluation.found) {
    out += "  peak reached in " + scope_label(evaluation.scope) + " (trace event " +
           std::to_string(evaluation.seq) + ")\n";
  }
  return out + "  (what training left allocated and cached is still held, and counts)\n";
}

}  // namespace tally::cli
