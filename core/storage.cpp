#include "core/storage.h"

#include "allocator/cleanup_errors.h"
#include "core/device_registry.h"

namespace tally {

namespace {

// Blocks whose recorded streams have finished go back first, so that they can serve this request.
std::shared_ptr<DeviceAllocator> allocator_for(Device device) {
  auto allocator = device_allocator(device);  // first: says why a device is unavailable
  if (device.kind == DeviceKind::cuda) reclaim_stream_frees(device);
  return allocator;
}

}  // namespace

Storage::Storage(Device device, std::size_t bytes, Tag tag)
    : allocator_(allocator_for(device)),
      allocation_(allocator_->allocate(bytes, tag)),
      device_(device),
      tag_(tag) {}

// A failure here (events that cannot be recorded on a broken CUDA context, say) is recorded
// rather than thrown, which would terminate the process: the block stays allocated and the
// run goes on to report it.
Storage::~Storage() {
  run_cleanup("freeing a tensor's storage", [&] {
    if (streams_ != 0 && allocation_) {
      free_after_streams(allocator_, allocation_, device_, streams_);
    } else {
      allocator_->deallocate(allocation_);
    }
  });
}

void Storage::record_stream(StreamRole role) {
  if (device_.kind != DeviceKind::cuda || role == StreamRole::compute) return;
  streams_ |= StreamMask{1} << static_cast<StreamId>(role);
}

void Storage::retag(Tag tag) {
  if (tag == tag_) return;
  if (allocation_) allocator_->retag(allocation_, tag);
  tag_ = tag;
}

}  // namespace tally
