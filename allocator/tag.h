// What memory is for (Tag) and when it was taken (Phase).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tally {

enum class Tag : std::uint8_t {
  parameter,
  gradient,
  optimizer,
  activation,  // saved for backward
  cast_cache,  // autocast's 16-bit copies of parameters, made once per forward pass
  temporary,
  workspace,
  communication,
  other,
};
inline constexpr std::size_t kTagCount = 9;
inline constexpr std::array<Tag, kTagCount> kAllTags{
    Tag::parameter, Tag::gradient,  Tag::optimizer,     Tag::activation, Tag::cast_cache,
    Tag::temporary, Tag::workspace, Tag::communication, Tag::other};

// eval: forward passes without gradients after training (tally train's evaluation).
enum class Phase : std::uint8_t {
  none,
  forward,
  backward,
  recompute,
  optimizer,
  communication,
  eval
};
inline constexpr std::size_t kPhaseCount = 7;

std::string_view tag_name(Tag tag);
std::optional<Tag> parse_tag(std::string_view name);
std::string_view phase_name(Phase phase);
std::optional<Phase> parse_phase(std::string_view name);

inline constexpr std::size_t index_of(Tag tag) {
  return static_cast<std::size_t>(tag);
}

}  // namespace tally
