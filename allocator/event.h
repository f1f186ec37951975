// One allocator event, as recorded and as read back from a trace.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "allocator/scope.h"
#include "allocator/strategy.h"
#include "allocator/tag.h"

namespace tally {

enum class Action : std::uint8_t { alloc, free, retag, segment_alloc, segment_free, oom };

std::string_view action_name(Action action);
std::optional<Action> parse_action(std::string_view name);

struct Event {
  std::uint64_t seq = 0;
  std::uint64_t time_ns = 0;  // since the recorder (its allocator) was created
  std::uint64_t address = 0;  // block or segment base; 0 for oom
  std::uint64_t requested = 0;
  std::uint64_t allocated = 0;
  StreamId stream = 0;
  ScopeId scope = 0;
  std::uint16_t device = 0;  // index into Trace::devices
  Action action = Action::alloc;
  std::optional<Tag> tag;       // absent for segment events
  std::optional<Tag> prev_tag;  // retag only: the tag the block had before
  Phase phase = Phase::none;

  bool operator==(const Event&) const = default;
};

// A recorded or imported sequence of events. Scopes are process-wide ids (scope_name()).
struct Trace {
  std::vector<std::string> devices;
  std::vector<Event> events;

  bool operator==(const Trace&) const = default;
};

}  // namespace tally
