// A synthetic, training-shaped allocation workload: the memory pattern of an MLP trained with
// AdamW (parameters, saved activations, temporaries, gradients, optimizer state), with scopes
// and phases, but no arithmetic. It exercises the allocator until real models exist.
#pragma once

#include <cstddef>
#include <vector>

#include "allocator/device_allocator.h"

namespace tally::cli {

struct DemoShape {
  std::vector<std::size_t> widths{784, 1024, 1024, 10};
  std::size_t batch = 128;
  int steps = 3;
};

void run_demo_workload(DeviceAllocator& allocator, const DemoShape& shape);

}  // namespace tally::cli
