// CudaBacking on a real device. Skips, saying why, where no device is present.
#include "allocator/cuda_backing.h"

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <vector>

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

// The expandable strategy's pages through the driver's virtual memory API: usable device memory,
// counted by the device to the page, and given back when the cache is released.
TEST_F(CudaBackingTest, ExpandablePagesAreDeviceMemoryTheDeviceCounts) {
  AllocatorConfig config;
  config.strategy = "expandable";
  DeviceAllocator allocator(std::make_unique<CudaBacking>(0), config);
  std::size_t free_before = 0, total = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_before, &total), cudaSuccess);
  const Allocation first = allocator.allocate(3 * MiB, Tag::activation);
  const Allocation second = allocator.allocate(3 * MiB, Tag::activation);
  EXPECT_EQ(static_cast<char*>(second.ptr), static_cast<char*>(first.ptr) + 3 * MiB);
  EXPECT_EQ(allocator.stats().reserved_bytes.current, static_cast<std::int64_t>(6 * MiB));
  std::size_t free_after = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_after, &total), cudaSuccess);
  EXPECT_EQ(free_before - free_after, 6 * MiB);
  // One write across the page boundaries of both blocks, read back.
  ASSERT_EQ(cudaMemset(first.ptr, 0x5a, 6 * MiB), cudaSuccess);
  std::vector<unsigned char> host(6 * MiB);
  ASSERT_EQ(cudaMemcpy(host.data(), first.ptr, host.size(), cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(host.front(), 0x5a);
  EXPECT_EQ(host[4 * MiB], 0x5a);
  EXPECT_EQ(host.back(), 0x5a);
  allocator.deallocate(first);
  allocator.deallocate(second);
  allocator.empty_cache();
  EXPECT_EQ(allocator.backing_held(), 0u);
  ASSERT_EQ(cudaMemGetInfo(&free_after, &total), cudaSuccess);
  EXPECT_EQ(free_after, free_before);
}

}  // namespace
}  // namespace tally
