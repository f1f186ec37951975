// What sim:cuda requests where cuda's libraries would: the cuBLAS workspace of the preset's
// architecture once, at the first non-empty GEMM; a cuDNN workspace per convolution pass from the
// stated policy, freed at once; none of the host's f32 copies or column buffers. And the sim
// device's capacity is its preset's, past which it fails as a real device does.
#include <gtest/gtest.h>

#include "allocator/error.h"
#include "allocator/scope.h"
#include "allocator/units.h"
#include "core/device_registry.h"
#include "ops/conv2d.h"
#include "ops/matmul.h"
#include "ops/sim_libraries.h"

namespace tally {
namespace {

const Device kSimCuda = Device::parse("sim:cuda");

struct Request {
  Action action;
  std::uint64_t bytes;
  Tag tag;
  bool operator==(const Request&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Request& r) {
  return os << action_name(r.action) << ' ' << r.bytes << ' ' << tag_name(r.tag);
}

std::vector<Request> requests(const DeviceAllocator& allocator) {
  std::vector<Request> out;
  for (const Event& e : allocator.trace().events) {
    if (e.action == Action::alloc || e.action == Action::free) {
      out.push_back({e.action, e.requested, *e.tag});
    }
  }
  return out;
}

class SimCuda : public ::testing::Test {
 protected:
  // A fresh sim:cuda allocator mimicking `preset`, with the bound policy.
  std::shared_ptr<DeviceAllocator> configure(std::string_view preset) {
    AllocatorConfig config;
    config.record = true;
    ops::set_sim_conv_workspace({});
    return configure_sim_device(kSimCuda, config, SimSettings::of(device_preset(preset)));
  }
  void TearDown() override {
    configure_sim_device(kSimCuda, {}, SimSettings::of(device_preset(kDefaultPreset)));
    ops::set_sim_conv_workspace({});
  }
};

TEST(SimDevice, NamesItsTarget) {
  EXPECT_EQ(Device::parse("sim").str(), "sim:cuda");
  EXPECT_EQ(Device::parse("sim:cpu").str(), "sim:cpu");
  EXPECT_EQ(Device::parse("sim:cpu").sim_target(), SimTarget::cpu);
  EXPECT_NE(Device::parse("sim:cpu"), Device::parse("sim:cuda"));
  EXPECT_THROW(Device::parse("sim:tpu"), Error);
}

TEST_F(SimCuda, FirstGemmTakesTheHoppersCublasWorkspaceOnce) {
  const auto allocator = configure("h100-80gb");
  const Tensor a = Tensor::empty({4, 8}, DType::f32, kSimCuda);
  const Tensor b = Tensor::empty({8, 2}, DType::f32, kSimCuda);
  const Tensor c = ops::matmul(a, b);
  const Tensor d = ops::matmul(a, b);
  // a, b, the first product, then the workspace (32 MiB on sm_90), then the second product.
  const std::vector<Request> expected{{Action::alloc, 128, Tag::temporary},
                                      {Action::alloc, 64, Tag::temporary},
                                      {Action::alloc, 32, Tag::temporary},
                                      {Action::alloc, 32 * MiB, Tag::workspace},
                                      {Action::alloc, 32, Tag::temporary}};
  EXPECT_EQ(requests(*allocator), expected);
  EXPECT_EQ(ops::cublas_workspace_bytes(kSimCuda), 32 * MiB);
}

TEST_F(SimCuda, AmpereTakesTheSmallerWorkspaceAndAFreshAllocatorTakesItAgain) {
  configure("h100-80gb");
  ops::matmul(Tensor::empty({2, 2}, DType::f32, kSimCuda),
              Tensor::empty({2, 2}, DType::f32, kSimCuda));
  const auto allocator = configure("a100-40gb");
  ops::matmul(Tensor::empty({2, 2}, DType::f32, kSimCuda),
              Tensor::empty({2, 2}, DType::f32, kSimCuda));
  const std::size_t expected = 2 * 4 * MiB + 8 * 16 * KiB;  // 8.125 MiB
  EXPECT_EQ(allocator->stats().of(Tag::workspace).requested_bytes.current,
            static_cast<std::int64_t>(expected));
  EXPECT_EQ(ops::cublas_workspace_bytes(kSimCuda), expected);
}

TEST_F(SimCuda, EmptyProductsTakeNoWorkspace) {
  const auto allocator = configure("h100-80gb");
  ops::matmul(Tensor::empty({0, 3}, DType::f32, kSimCuda),
              Tensor::empty({3, 2}, DType::f32, kSimCuda));
  ops::matmul(Tensor::empty({2, 0}, DType::f32, kSimCuda),
              Tensor::empty({0, 2}, DType::f32, kSimCuda));
  EXPECT_EQ(allocator->stats().of(Tag::workspace).requested_bytes.peak, 0);
}

TEST_F(SimCuda, HalfProductsNeedNoF32Copies) {
  const auto allocator = configure("h100-80gb");
  const Tensor a = Tensor::empty({4, 8}, DType::f16, kSimCuda);
  const Tensor b = Tensor::empty({8, 2}, DType::f16, kSimCuda);
  const Tensor c = ops::matmul(a, b);
  // a, b, the f16 product and the workspace: nothing in f32 (on the host: two f32 copies of the
  // operands and an f32 product, ops/matmul.cpp).
  EXPECT_EQ(requests(*allocator).size(), 4u);
  EXPECT_EQ(allocator->stats().total.requested_bytes.peak,
            static_cast<std::int64_t>(64 + 32 + 16 + 32 * MiB));
}

TEST_F(SimCuda, ConvolutionPassesTakeTheBoundAndFreeIt) {
  const auto allocator = configure("h100-80gb");
  const Tensor x = Tensor::empty({2, 3, 8, 8}, DType::f32, kSimCuda);
  const Tensor w = Tensor::empty({4, 3, 3, 3}, DType::f32, kSimCuda);
  const Tensor y = ops::conv2d(x, w, Tensor(), 1, 1);
  const ops::Conv2dGrads g = ops::conv2d_backward(y, x, w, 1, 1, true, true, false);
  const std::uint64_t bound = ops::cudnn_workspace_limit();
  const std::uint64_t image = 2 * 3 * 8 * 8 * 4, weight = 4 * 3 * 3 * 3 * 4,
                      out = 2 * 4 * 8 * 8 * 4;
  const std::vector<Request> expected{
      {Action::alloc, image, Tag::temporary},  {Action::alloc, weight, Tag::temporary},
      {Action::alloc, out, Tag::temporary},    {Action::alloc, bound, Tag::workspace},
      {Action::free, bound, Tag::workspace},   {Action::alloc, image, Tag::temporary},
      {Action::alloc, weight, Tag::temporary}, {Action::alloc, bound, Tag::workspace},
      {Action::free, bound, Tag::workspace},   {Action::alloc, bound, Tag::workspace},
      {Action::free, bound, Tag::workspace}};
  EXPECT_EQ(requests(*allocator), expected);
  EXPECT_EQ(ops::sim_conv_counts().bounded, 3u);
  EXPECT_NE(ops::describe_sim_conv_workspace().find("bound (64.00 MiB"), std::string::npos);
}

TEST_F(SimCuda, RecordedChoicesGiveExactWorkspacesAndMissesTakeTheBound) {
  const auto allocator = configure("h100-80gb");
  ops::ConvAlgoRecord fwd;
  fwd.pass = ops::ConvPass::forward;
  fwd.device = 3;  // recorded on another device: the problem is what matters
  fwd.input = {2, 3, 8, 8};
  fwd.weight = {4, 3, 3, 3};
  fwd.stride = 1;
  fwd.padding = 1;
  fwd.workspace_limit = ops::cudnn_workspace_limit();
  fwd.workspace_bytes = 4096;
  ops::ConvAlgoRecord other_padding = fwd;
  other_padding.padding = 0;
  other_padding.workspace_bytes = 999;
  ops::set_sim_conv_workspace(
      {ops::ConvWorkspacePolicy::recorded, {other_padding, fwd}, "log.csv"});
  const Tensor x = Tensor::empty({2, 3, 8, 8}, DType::f32, kSimCuda);
  const Tensor w = Tensor::empty({4, 3, 3, 3}, DType::f32, kSimCuda);
  const Tensor y = ops::conv2d(x, w, Tensor(), 1, 1);
  const ops::Conv2dGrads g = ops::conv2d_backward(y, x, w, 1, 1, true, false, false);
  const std::vector<Request> got = requests(*allocator);
  ASSERT_EQ(got.size(), 8u);
  EXPECT_EQ(got[3], (Request{Action::alloc, 4096, Tag::workspace}));
  EXPECT_EQ(got[6], (Request{Action::alloc, ops::cudnn_workspace_limit(), Tag::workspace}));
  EXPECT_EQ(ops::sim_conv_counts().recorded, 1u);
  EXPECT_EQ(ops::sim_conv_counts().bounded, 1u);
  EXPECT_NE(ops::describe_sim_conv_workspace().find("recorded (2 choices from log.csv"),
            std::string::npos);
}

// Whichever module calls first, the workspaces are the libraries': scope "(cublas)" and
// "(cudnn)" in place of the module's path, in the caller's phase.
TEST_F(SimCuda, WorkspacesAreChargedToTheirLibraryNotToTheCallingModule) {
  const auto allocator = configure("h100-80gb");
  {
    PhaseGuard backward(Phase::backward);
    MemoryScope module("classifier");
    MemoryScope layer("1");
    ops::matmul(Tensor::empty({2, 2}, DType::f32, kSimCuda),
                Tensor::empty({2, 2}, DType::f32, kSimCuda));
    ops::conv2d(Tensor::empty({1, 1, 4, 4}, DType::f32, kSimCuda),
                Tensor::empty({1, 1, 3, 3}, DType::f32, kSimCuda), Tensor(), 1, 1);
  }
  std::vector<std::string> workspace_scopes, other_scopes;
  for (const Event& e : allocator->trace().events) {
    if (e.action != Action::alloc && e.action != Action::free) continue;
    EXPECT_EQ(e.phase, Phase::backward);
    (e.tag == Tag::workspace ? workspace_scopes : other_scopes).push_back(scope_name(e.scope));
  }
  // cuBLAS's held for good; cuDNN's taken and given back.
  const std::vector<std::string> expected{"(cublas)", "(cudnn)", "(cudnn)"};
  EXPECT_EQ(workspace_scopes, expected);
  for (const std::string& scope : other_scopes) EXPECT_EQ(scope, "classifier.1");
  // Allocated and freed: the GEMM's 2 operands and product, the convolution's 2 and output.
  EXPECT_EQ(other_scopes.size(), 12u);
}

TEST_F(SimCuda, TheHostTargetTakesNoLibraryWorkspace) {
  AllocatorConfig config;
  config.record = true;
  const Device sim_cpu = Device::parse("sim:cpu");
  const auto allocator = configure_device(sim_cpu, config);
  ops::matmul(Tensor::empty({2, 2}, DType::f32, sim_cpu),
              Tensor::empty({2, 2}, DType::f32, sim_cpu));
  EXPECT_EQ(allocator->stats().of(Tag::workspace).requested_bytes.peak, 0);
  EXPECT_EQ(ops::cublas_workspace_bytes(sim_cpu), 0u);
}

TEST_F(SimCuda, CapacityIsThePresetsTotalLessItsOverheadAndPastItIsOutOfMemory) {
  const DevicePreset& t4 = device_preset("t4-16gb");
  EXPECT_EQ(t4.total_bytes, 14909 * MiB);
  const auto allocator = configure("t4-16gb");
  EXPECT_EQ(allocator->backing_capacity(), t4.total_bytes - t4.overhead_bytes);
  EXPECT_THROW(Tensor::empty({static_cast<std::int64_t>(t4.total_bytes)}, DType::u8, kSimCuda),
               OutOfMemoryError);
  EXPECT_THROW(device_preset("v100"), Error);
}

}  // namespace
}  // namespace tally
