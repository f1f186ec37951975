#include "cli/memory_report.h"

#include <cstdio>
#include <sstream>

#include "allocator/units.h"

namespace tally::cli {
namespace {

// Reserved over requested bytes at the moment of peak: what the allocator's rounding, segment
// sizes and cache cost on top of what the program asked for.
double fragmentation(const PeakSnapshot& peak) {
  return peak.requested > 0 ? static_cast<double>(peak.reserved) / peak.requested : 0.0;
}

std::string scope_label(const std::string& scope) {
  return scope.empty() ? "(no module)" : scope;
}

std::string row(const std::string& label, const std::string& a, const std::string& b = "") {
  char line[160];
  std::snprintf(line, sizeof line, "  %-28s %14s %14s\n", label.c_str(), a.c_str(), b.c_str());
  return line;
}

}  // namespace

std::string format_memory_report(const AllocatorStats& stats, const PeakSnapshot& peak,
                                 std::size_t top_modules) {
  std::ostringstream out;
  out << "memory\n";
  out << row("peak allocated", format_bytes(stats.total.allocated_bytes.peak));
  out << row("peak reserved", format_bytes(stats.reserved_bytes.peak));
  out << row("peak requested", format_bytes(stats.total.requested_bytes.peak));
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
    out << row("  " + std::string(tag_name(tag)), format_bytes(b.allocated),
               format_bytes(b.requested));
  }
  out << row("  total", format_bytes(peak.allocated), format_bytes(peak.requested));
  out << "\n" << row("top modules at peak", "allocated");
  for (std::size_t i = 0; i < peak.by_scope.size() && i < top_modules; ++i) {
    out << row("  " + scope_label(peak.by_scope[i].first), format_bytes(peak.by_scope[i].second));
  }
  return out.str();
}

nlohmann::json memory_report_json(const AllocatorStats& stats, const PeakSnapshot& peak,
                                  std::size_t top_modules) {
  nlohmann::json j;
  j["peak_allocated_bytes"] = stats.total.allocated_bytes.peak;
  j["peak_reserved_bytes"] = stats.reserved_bytes.peak;
  j["peak_requested_bytes"] = stats.total.requested_bytes.peak;
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
  nlohmann::json modules = nlohmann::json::array();
  for (std::size_t i = 0; i < peak.by_scope.size() && i < top_modules; ++i) {
    modules.push_back(
        {{"scope", peak.by_scope[i].first}, {"allocated_bytes", peak.by_scope[i].second}});
  }
  j["top_modules_at_peak"] = modules;
  return j;
}

}  // namespace tally::cli
