// Records every allocator event in memory. Appending is the whole hot path: a push_back into a
// vector that grows geometrically, and one clock read per allocator call, shared by the events
// that call makes (a direct allocation's segment_alloc and alloc, say).
#pragma once

#include <string>
#include <vector>

#include "allocator/event.h"
#include "allocator/trace_clock.h"

namespace tally {

class Recorder {
 public:
  explicit Recorder(std::string device, bool enabled = false);

  void set_enabled(bool enabled) { enabled_ = enabled; }
  bool enabled() const { return enabled_; }

  // Reads the clock for the events of the allocator call that is starting.
  void begin_call() {
    if (enabled_) call_ticks_ = clock_.ticks();
  }
  // Stamps the event with its call's time and the calling thread's scope and phase; its
  // sequence number is its place in the recording, filled in by trace().
  void record(Action action, std::uint64_t address, std::uint64_t requested,
              std::uint64_t allocated, StreamId stream, std::optional<Tag> tag,
              std::optional<Tag> prev_tag = std::nullopt) {
    if (!enabled_) return;
    Event& e = events_.emplace_back();
    e.time_ns = call_ticks_;  // converted to ns in trace()
    e.address = address;
    e.requested = requested;
    e.allocated = allocated;
    e.stream = stream;
    e.scope = current_scope();
    e.action = action;
    e.tag = tag;
    e.prev_tag = prev_tag;
    e.phase = current_phase();
  }

  std::size_t size() const { return events_.size(); }
  // The events so far, with times in nanoseconds since the recorder was made.
  Trace trace() const;
  // Drops the events; sequence numbers go on from where they were.
  void clear() {
    first_seq_ += events_.size();
    events_.clear();
  }

 private:
  std::string device_;
  bool enabled_;
  std::uint64_t first_seq_ = 0;  // the sequence number of events_[0]
  TraceClock clock_;
  std::uint64_t call_ticks_ = 0;
  std::vector<Event> events_;
};

}  // namespace tally
