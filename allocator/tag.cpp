#include "allocator/tag.h"

namespace tally {
namespace {

constexpr std::array<std::string_view, kTagCount> kTagNames{
    "parameter", "gradient",  "optimizer",     "activation", "cast_cache",
    "temporary", "workspace", "communication", "other"};
constexpr std::array<std::string_view, kPhaseCount> kPhaseNames{
    "none", "forward", "backward", "recompute", "optimizer", "communication", "eval"};

template <typename Enum, std::size_t N>
std::optional<Enum> parse_name(const std::array<std::string_view, N>& names,
                               std::string_view name) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

}  // namespace

std::string_view tag_name(Tag tag) {
  return kTagNames[static_cast<std::size_t>(tag)];
}
std::optional<Tag> parse_tag(std::string_view name) {
  return parse_name<Tag>(kTagNames, name);
}
std::string_view phase_name(Phase phase) {
  return kPhaseNames[static_cast<std::size_t>(phase)];
}
std::optional<Phase> parse_phase(std::string_view name) {
  return parse_name<Phase>(kPhaseNames, name);
}

}  // namespace tally
