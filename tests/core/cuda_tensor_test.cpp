// Tensors on a cuda device: transfers both ways, strided copies on the device, and
// record_stream's deferred free. Skips, saying why, without a CUDA device.
#include <gtest/gtest.h>

#include "allocator/cuda_device.h"
#include "core/cuda_context.h"
#include "core/device_registry.h"
#include "core/tensor.h"

namespace tally {
namespace {

const Device kCuda{DeviceKind::cuda, 0};

class CudaTensorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const CudaProbe probe = probe_cuda();
    if (probe.devices.empty()) GTEST_SKIP() << "no CUDA device: " << probe.reason;
  }
};

std::vector<float> iota_values(std::size_t n) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i) * 0.5f - 3.0f;
  return v;
}

TEST_F(CudaTensorTest, RoundTripKeepsEveryDtypesBytes) {
  for (DType dtype : {DType::f32, DType::f16, DType::bf16, DType::i64, DType::u8}) {
    const Tensor host = Tensor::from_values(iota_values(24), {2, 3, 4}, dtype);
    const Tensor device = host.to(kCuda);
    EXPECT_EQ(device.device(), kCuda);
    EXPECT_EQ(device.tag(), host.tag());
    EXPECT_EQ(device.to_floats(), host.to_floats()) << dtype_name(dtype);
  }
}

TEST_F(CudaTensorTest, StridedViewsCopyOnTheDeviceAndAcrossDevices) {
  const Tensor host = Tensor::from_values(iota_values(60), {3, 4, 5});
  const Tensor view = host.permute(std::vector<std::int64_t>{2, 0, 1}).slice(1, 1, 3);
  // Non-contiguous host source to the device, then a non-contiguous device source to the host.
  EXPECT_EQ(view.to(kCuda).to_floats(), view.to_floats());
  const Tensor on_device = host.to(kCuda);
  const Tensor device_view = on_device.permute(std::vector<std::int64_t>{2, 0, 1}).slice(1, 1, 3);
  EXPECT_EQ(device_view.to_floats(), view.to_floats());
  EXPECT_EQ(device_view.contiguous().to_floats(), view.to_floats());
  // Into a strided device destination.
  const Tensor target = Tensor::from_values(std::vector<float>(60, 0.0f), {3, 4, 5}).to(kCuda);
  copy_into(target.transpose(0, 2), host.transpose(0, 2).to(kCuda));
  EXPECT_EQ(target.to_floats(), host.to_floats());
}

TEST_F(CudaTensorTest, RecordedStreamDefersTheFreeUntilTheStreamIsDone) {
  const auto allocator = configure_device(kCuda, {});
  {
    const Tensor t = Tensor::empty({1024}, DType::f32, kCuda, Tag::communication);
    t.storage()->record_stream(StreamRole::communication);
    EXPECT_EQ(allocator->stats().total.allocated_bytes.current, 4096);
  }
  // Freed only once the communication stream has passed the point of the free.
  EXPECT_EQ(allocator->stats().total.allocated_bytes.current, 4096);
  synchronize(kCuda);
  EXPECT_EQ(allocator->stats().total.allocated_bytes.current, 0);
}

}  // namespace
}  // namespace tally
