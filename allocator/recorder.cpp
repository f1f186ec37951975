#include "allocator/recorder.h"

namespace tally {

Recorder::Recorder(std::string device, bool enabled)
    : device_(std::move(device)), enabled_(enabled) {}

Trace Recorder::trace() const {
  const TraceClock::Scale scale = clock_.scale();
  Trace trace{{device_}, events_};
  for (std::size_t i = 0; i < trace.events.size(); ++i) {
    trace.events[i].seq = first_seq_ + i;
    trace.events[i].time_ns = scale.to_ns(trace.events[i].time_ns);
  }
  return trace;
}

}  // namespace tally
