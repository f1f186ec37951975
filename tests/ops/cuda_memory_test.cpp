// What tally reports against what the device reports. Once the context, the compute stream and
// the library handles exist (a first matmul and conv2d create them), every further byte of device
// memory in use is a byte tally reserved: the increase of used memory measured by cudaMemGetInfo
// equals the increase of the allocator's reserved bytes. Skips, saying why, without a device.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include "allocator/cuda_device.h"
#include "allocator/units.h"
#include "core/cuda_context.h"
#include "core/device_registry.h"
#include "ops/conv2d.h"
#include "ops/factory.h"
#include "ops/matmul.h"

namespace tally {
namespace {

const Device kCuda{DeviceKind::cuda, 0};

std::size_t device_used() {
  std::size_t free = 0, total = 0;
  EXPECT_EQ(cudaMemGetInfo(&free, &total), cudaSuccess);
  return total - free;
}

TEST(CudaMemory, ReservedBytesAreTheDevicesUsedMemoryOnceLibrariesAreUp) {
  const CudaProbe probe = probe_cuda();
  if (probe.devices.empty()) GTEST_SKIP() << "no CUDA device: " << probe.reason;
  const auto allocator = configure_device(kCuda, {});
  {
    const Tensor a = ops::randn({64, 64}, kCuda);
    ops::matmul(a, a);
    ops::conv2d(ops::randn({2, 3, 8, 8}, kCuda), ops::randn({4, 3, 3, 3}, kCuda), Tensor(), 1, 1);
    synchronize(kCuda);
  }
  const std::size_t used_before = device_used();
  const auto reserved_before = allocator->stats().reserved_bytes.current;

  std::vector<Tensor> held;
  for (std::int64_t n : {1, 1000, 300'000, 3'000'000, 20'000'000}) {
    held.push_back(ops::randn({n}, kCuda));
  }
  held.push_back(ops::matmul(held[3].view({3000, 1000}), ops::randn({1000, 500}, kCuda)));
  synchronize(kCuda);
  const auto reserved_growth = allocator->stats().reserved_bytes.current - reserved_before;
  EXPECT_GT(reserved_growth, 0);
  EXPECT_EQ(device_used() - used_before, static_cast<std::size_t>(reserved_growth));

  // Giving the cache back lowers both by the same amount, warm-up segments included.
  held.clear();
  allocator->empty_cache();
  const std::int64_t reserved_change = allocator->stats().reserved_bytes.current - reserved_before;
  EXPECT_EQ(static_cast<std::int64_t>(device_used()) - static_cast<std::int64_t>(used_before),
            reserved_change);
}

}  // namespace
}  // namespace tally
