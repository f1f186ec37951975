// CudaBacking on a real device. Skips, saying why, where no device is present.
#include "allocator/cuda_backing.h"

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include "allocator/cuda_device.h"
#include "allocator/device_allocator.h"
#include "allocator/error.h"
#include "allocator/units.h"

namespace tally {
namespace {

class CudaBackingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const CudaProbe probe = probe_cuda();
    if (probe.devices.empty()) GTEST_SKIP() << "no CUDA device: " << probe.reason;
  }
};

TEST_F(CudaBackingTest, SegmentsAreDeviceMemoryCountedByTheBacking) {
  CudaBacking backing(0);
  EXPECT_GT(backing.capacity(), 1 * GiB);
  EXPECT_EQ(backing.device(), "cuda:0");
  void* base = backing.allocate(2 * MiB);
  ASSERT_NE(base, nullptr);
  EXPECT_EQ(backing.held(), 2 * MiB);
  cudaPointerAttributes attributes{};
  ASSERT_EQ(cudaPointerGetAttributes(&attributes, base), cudaSuccess);
  EXPECT_EQ(attributes.type, cudaMemoryTypeDevice);
  EXPECT_EQ(attributes.device, 0);
  EXPECT_EQ(cudaMemset(base, 0x5a, 2 * MiB), cudaSuccess);
  backing.deallocate(base, 2 * MiB);
  EXPECT_EQ(backing.held(), 0u);
}

TEST_F(CudaBackingTest, RefusalIsNullAndLeavesNoStickyError) {
  CudaBacking backing(0);
  // More than the device has: cudaMalloc fails, the backing says no, CUDA stays usable.
  const std::size_t too_much = 512 * ((backing.capacity() * 2) / 512);
  EXPECT_EQ(backing.allocate(too_much), nullptr);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  void* base = backing.allocate(1 * MiB);
  EXPECT_NE(base, nullptr);
  backing.deallocate(base, 1 * MiB);
}

TEST_F(CudaBackingTest, ReservedBytesMatchTheDevicesUsedMemory) {
  DeviceAllocator allocator(std::make_unique<CudaBacking>(0));
  std::size_t free_before = 0, total = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_before, &total), cudaSuccess);
  std::vector<Allocation> blocks;
  for (std::size_t bytes : {std::size_t{1}, 700 * KiB, 3 * MiB, 64 * MiB}) {
    blocks.push_back(allocator.allocate(bytes, Tag::activation));
  }
  std::size_t free_after = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_after, &total), cudaSuccess);
  const auto reserved = static_cast<std::size_t>(allocator.stats().reserved_bytes.current);
  EXPECT_EQ(reserved, 2 * MiB + 20 * MiB + 64 * MiB);
  // The driver maps whole 2 MiB pages, so the device's count matches to the page.
  EXPECT_EQ(free_before - free_after, reserved);
  for (const auto& b : blocks) allocator.deallocate(b);
  allocator.empty_cache();
}

}  // namespace
}  // namespace tally
