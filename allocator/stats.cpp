#include "allocator/stats.h"

#include <cstdio>
#include <string_view>

#include "allocator/units.h"

namespace tally {
namespace {

void reset(BlockStats& s) {
  for (Stat* stat :
       {&s.requested_bytes, &s.allocated_bytes, &s.active_bytes, &s.allocation, &s.active}) {
    stat->reset_peak();
  }
}

class Table {
 public:
  Table() {
    line("metric", "current", "peak", "allocated", "freed");
    rule();
  }

  void bytes(std::string_view name, const Stat& s) {
    line(name, format_bytes(s.current), format_bytes(s.peak), format_bytes(s.allocated),
         format_bytes(s.freed));
  }
  void count(std::string_view name, const Stat& s) {
    line(name, std::to_string(s.current), std::to_string(s.peak), std::to_string(s.allocated),
         std::to_string(s.freed));
  }
  void rule() { text_ += std::string(82, '-') + "\n"; }
  void note(const std::string& text) { text_ += text + "\n"; }
  std::string str() const { return text_; }

 private:
  void line(std::string_view name, const std::string& a, const std::string& b, const std::string& c,
            const std::string& d) {
    char buffer[160];
    std::snprintf(buffer, sizeof buffer, "%-30.*s %12s %12s %12s %12s\n",
                  static_cast<int>(name.size()), name.data(), a.c_str(), b.c_str(), c.c_str(),
                  d.c_str());
    text_ += buffer;
  }
  std::string text_;
};

}  // namespace

void AllocatorStats::reset_peak() {
  reset(total);
  for (auto& s : by_tag) reset(s);
  for (Stat* stat : {&reserved_bytes, &segment, &inactive_split_bytes, &inactive_split}) {
    stat->reset_peak();
  }
}

std::string format_stats(const AllocatorStats& stats) {
  Table table;
  const auto block_section = [&](std::string_view title, Stat BlockStats::*member) {
    table.bytes(title, stats.total.*member);
    for (const Tag tag : kAllTags) {
      const Stat& s = stats.of(tag).*member;
      if (s.allocated != 0) table.bytes("  " + std::string(tag_name(tag)), s);
    }
  };
  block_section("requested bytes", &BlockStats::requested_bytes);
  block_section("allocated bytes", &BlockStats::allocated_bytes);
  table.bytes("active bytes", stats.total.active_bytes);
  table.bytes("reserved bytes", stats.reserved_bytes);
  table.bytes("inactive split bytes", stats.inactive_split_bytes);
  table.rule();
  table.count("allocations", stats.total.allocation);
  table.count("active blocks", stats.total.active);
  table.count("segments", stats.segment);
  table.count("inactive split blocks", stats.inactive_split);
  table.rule();
  table.note("alloc retries: " + std::to_string(stats.num_alloc_retries) + "   OOMs: " +
             std::to_string(stats.num_ooms) + "   retags: " + std::to_string(stats.num_retags));
  return table.str();
}

}  // namespace tally
