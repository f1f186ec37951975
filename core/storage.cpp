#include "core/storage.h"

#include "core/device_registry.h"

namespace tally {

Storage::Storage(Device device, std::size_t bytes, Tag tag)
    : allocator_(device_allocator(device)),
      allocation_(allocator_->allocate(bytes, tag)),
      device_(device),
      tag_(tag) {}

Storage::~Storage() {
  allocator_->deallocate(allocation_);
}

void Storage::retag(Tag tag) {
  if (tag == tag_) return;
  if (allocation_) allocator_->retag(allocation_, tag);
  tag_ = tag;
}

}  // namespace tally
