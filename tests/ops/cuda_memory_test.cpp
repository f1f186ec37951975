// What tally reports against what the device reports. Once the context, the compute stream, the
// library handles and the kernels exist, every further byte of device memory in use is a byte
// tally reserved: the increase of used memory measured by cudaMemGetInfo equals the increase of
// the allocator's reserved bytes. With lazy module loading (the default since CUDA 12.2) a kernel
// is loaded, outside the allocator, on its first launch, and cuBLAS picks its kernel by shape: so
// the warm-up runs the very launches the measured part makes, the same GEMM shape included.
// Skips, saying why, without a device.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include "allocator/cuda_device.h"
#include "allocator/units.h"
#include "core/cuda_context.h"
#include "core/device_registry.h"
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
  // The measured GEMM: [3000, 1000] x [1000, 500], its left operand a view of a random vector.
  const auto product = [](const Tensor& values) {
    return ops::matmul(values.view({3000, 1000}), ops::randn({1000, 500}, kCuda));
  };
  {
    product(ops::randn({3'000'000}, kCuda));
    synchronize(kCuda);
  }
  const std::size_t used_before = device_used();
  const auto reserved_before = allocator->stats().reserved_bytes.current;

  std::vector<Tensor> held;
  for (std::int64_t n : {1, 1000, 300'000, 3'000'000, 20'000'000}) {
    held.push_back(ops::randn({n}, kCuda));
  }
  held.push_back(product(held[3]));
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
