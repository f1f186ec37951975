#include "allocator/recorder.h"

namespace tally {

Recorder::Recorder(std::string device, bool enabled)
    : device_(std::move(device)), enabled_(enabled) {}

Trace Recorder::trace() const {
  const TraceClock::Scale scale = clock_.scale();
  Trace trace{{device_}, events_};
  for (Event& e : trace.events) e.time_ns = scale.to_ns(e.time_ns);
  return trace;
}

}  // namespace tally
