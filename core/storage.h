// One allocator block and what it is for. Tensors share a Storage through views; the block goes
// back to its allocator when the last tensor using it is gone.
#pragma once

#include <cstddef>
#include <memory>

#include "allocator/device_allocator.h"
#include "allocator/tag.h"
#include "core/cuda_context.h"
#include "core/device.h"

namespace tally {

class Storage {
 public:
  // Allocates `bytes` on `device` under `tag` (throws OutOfMemoryError like the allocator).
  Storage(Device device, std::size_t bytes, Tag tag);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  // The block's address; on sim it is a virtual address that must never be dereferenced.
  void* data() const { return allocation_.ptr; }
  std::size_t nbytes() const { return allocation_.requested; }
  Device device() const { return device_; }
  Tag tag() const { return tag_; }
  void retag(Tag tag);
  // Marks the block as used by another stream of its device: its free waits for that stream's
  // queued work (PyTorch's record_stream). Nothing to do on cpu and sim, which run in order.
  void record_stream(StreamRole role);
  const DeviceAllocator& allocator() const { return *allocator_; }

 private:
  std::shared_ptr<DeviceAllocator> allocator_;
  Allocation allocation_;
  Device device_;
  Tag tag_;
  StreamMask streams_ = 0;  // recorded streams other than the compute stream
};

}  // namespace tally
