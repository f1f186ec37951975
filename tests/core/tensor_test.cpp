// Tensor layout and views, checked element by element against index arithmetic done by hand;
// storage through the device's allocator, checked by its statistics.
#include "core/tensor.h"

#include <gtest/gtest.h>

#include <numeric>

#include "allocator/error.h"
#include "core/device_registry.h"

namespace tally {
namespace {

Tensor iota(Shape shape) {
  std::vector<float> values(static_cast<std::size_t>(shape_numel(shape)));
  std::iota(values.begin(), values.end(), 0.0f);
  return Tensor::from_values(values, std::move(shape));
}

TEST(Tensor, StorageComesFromTheDeviceAllocatorWithItsTag) {
  auto allocator = configure_device(Device::cpu(), {});
  {
    Tensor t = Tensor::empty({3, 5}, DType::f16, Device::cpu(), Tag::parameter);
    const AllocatorStats s = allocator->stats();
    EXPECT_EQ(s.total.requested_bytes.current, 30);
    EXPECT_EQ(s.by_tag[index_of(Tag::parameter)].allocated_bytes.current, 512);
    t.storage()->retag(Tag::gradient);
    EXPECT_EQ(allocator->stats().by_tag[index_of(Tag::gradient)].allocated_bytes.current, 512);
    Tensor view = t.transpose(0, 1);
    t = Tensor();
    EXPECT_EQ(allocator->stats().total.allocated_bytes.current, 512);  // the view keeps it alive
  }
  EXPECT_EQ(allocator->stats().total.allocated_bytes.current, 0);
}

TEST(Tensor, TransposePermuteSliceAreViewsWithTheRightElements) {
  const Tensor t = iota({2, 3, 4});
  const Tensor p = t.permute(std::vector<std::int64_t>{2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_FALSE(p.is_contiguous());
  const std::vector<float> pv = p.to_floats();
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) EXPECT_EQ(pv[(k * 2 + i) * 3 + j], i * 12 + j * 4 + k);
  const Tensor s = t.slice(2, 1, 4, 2);  // columns 1 and 3
  EXPECT_EQ(s.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(s.to_floats(), (std::vector<float>{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23}));
  EXPECT_EQ(s.storage(), t.storage());
  EXPECT_EQ(t.transpose(0, 2).transpose(0, 2).to_floats(), t.to_floats());
}

TEST(Tensor, ViewFollowsPyTorchRulesAndReshapeCopiesOnlyWhenNeeded) {
  const Tensor t = iota({4, 6});
  const Tensor v = t.view({2, -1, 3});
  EXPECT_EQ(v.shape(), (Shape{2, 4, 3}));
  EXPECT_EQ(v.storage(), t.storage());
  // A transposed matrix cannot be flattened without a copy.
  const Tensor tt = t.transpose(0, 1);
  EXPECT_THROW(tt.view({24}), Error);
  const Tensor flat = tt.reshape({24});
  EXPECT_NE(flat.storage(), t.storage());
  EXPECT_EQ(flat.to_floats()[1], 6.0f);
  // Splitting a dimension of a transposed view is still a view.
  const Tensor split = tt.view({3, 2, 4});
  EXPECT_EQ(split.storage(), t.storage());
  EXPECT_EQ(split.to_floats(), tt.contiguous().to_floats());
}

TEST(Tensor, EmptyTensorsViewAsAnyShapeOfNoElements) {
  // A transposed [0, 2] keeps its strides; one [3, 0] becomes [0, 5] with contiguous strides.
  const Tensor t = Tensor::empty({2, 0}, DType::f32).transpose(0, 1);
  EXPECT_EQ(t.view({0, 2}).strides(), t.strides());
  const Tensor v = Tensor::empty({3, 0}, DType::f32).view({0, 5});
  EXPECT_EQ(v.shape(), (Shape{0, 5}));
  EXPECT_EQ(v.strides(), (Shape{5, 1}));
  EXPECT_THROW(Tensor::empty({3, 0}, DType::f32).view({1}), Error);
}

TEST(Tensor, ExpandBroadcastsWithZeroStrides) {
  const Tensor row = iota({1, 3});
  const Tensor e = row.expand({4, 3});
  EXPECT_EQ(e.strides(), (Shape{0, 1}));
  EXPECT_EQ(e.contiguous().to_floats(), (std::vector<float>{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2}));
  EXPECT_THROW(iota({2, 3}).expand({4, 3}), Error);
  EXPECT_EQ(iota({3}).unsqueeze(0).shape(), (Shape{1, 3}));
  EXPECT_EQ(iota({3, 1}).squeeze(1).shape(), (Shape{3}));
}

TEST(Tensor, ErrorsNameTheOpAndTheShapes) {
  const Tensor t = iota({2, 3});
  try {
    t.view({4, 2});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("view: shape [4, 2] does not match f32[2, 3]"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(t.transpose(0, 2), Error);
  EXPECT_THROW(Device::parse("gpu"), Error);
  EXPECT_EQ(Device::parse("cuda:1").str(), "cuda:1");
}

TEST(Tensor, CudaDeviceIsRefusedWithTheReasonWhenAbsent) {
  try {
    Tensor::empty({2}, DType::f32, Device::parse("cuda:0"));
    GTEST_SKIP() << "a CUDA device is present";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("device cuda:0 unavailable"), std::string::npos);
  }
}

}  // namespace
}  // namespace tally
