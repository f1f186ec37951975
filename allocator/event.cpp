#include "allocator/event.h"

#include <array>

namespace tally {
namespace {

constexpr std::array<std::string_view, 6> kActionNames{"alloc",         "free",         "retag",
                                                       "segment_alloc", "segment_free", "oom"};

}  // namespace

std::string_view action_name(Action action) {
  return kActionNames[static_cast<std::size_t>(action)];
}

std::optional<Action> parse_action(std::string_view name) {
  for (std::size_t i = 0; i < kActionNames.size(); ++i) {
    if (kActionNames[i] == name) return static_cast<Action>(i);
  }
  return std::nullopt;
}

}  // namespace tally
