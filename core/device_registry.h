// One DeviceAllocator per device, created on first use. Storage keeps its allocator alive, so a
// device can be reconfigured (a fresh allocator with new settings) while old tensors still
// exist: they return their blocks to the allocator they came from.
#pragma once

#include <memory>

#include "allocator/config.h"
#include "allocator/device_allocator.h"
#include "core/device.h"

namespace tally {

// The device's allocator; created with the configuration from TALLY_ALLOC_CONF on first use.
// Throws a one-line error for a device this build or machine cannot provide.
std::shared_ptr<DeviceAllocator> device_allocator(Device device);

// Replaces the device's allocator with a fresh one built from `config`; returns it.
std::shared_ptr<DeviceAllocator> configure_device(Device device, const AllocatorConfig& config);

}  // namespace tally
